/**
 * The two-stage probability composition of a diagnosis.
 *
 * Each classifier's score over a set of crops is the mean of their aggregated logits (raw, no softmax), which is
 * how the LiLNet study scores a patient; its probabilities are the softmax of that mean. The six-class
 * distribution multiplies the branch probability by the subtype probability within the branch:
 * P(HCC) = P(malignant) * P(HCC | malignant), P(FNH) = P(benign) * P(FNH | benign), and so on.
 */
import { LilnetError } from '../errors.ts';
import {
  BENIGN_SUBTYPES,
  MALIGNANT_SUBTYPES,
  type Branch,
  type Classification,
  type ClassifierOutput,
  type LesionClass,
} from './report-types.ts';

/** Logits of one classifier for a set of crops: one row of K values per crop. */
export interface CropLogits {
  role: ClassifierOutput['role'];
  classes: string[];
  rows: number[][];
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - max));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

/** Averages crop logits column by column and returns the mean with its softmax. */
export function summariseLogits(logits: CropLogits): ClassifierOutput {
  const classCount = logits.classes.length;
  if (logits.rows.length === 0) {
    throw new LilnetError('INTERNAL', `no crops to average for the ${logits.role} classifier`);
  }
  const meanLogits = new Array<number>(classCount).fill(0);
  for (const row of logits.rows) {
    if (row.length !== classCount) {
      throw new LilnetError(
        'INTERNAL',
        `the ${logits.role} classifier returned ${row.length} logits per crop, expected ${classCount}`,
      );
    }
    for (let c = 0; c < classCount; c++) meanLogits[c] += row[c] / logits.rows.length;
  }
  return {
    role: logits.role,
    classes: [...logits.classes],
    meanLogits,
    probabilities: softmax(meanLogits),
    cropCount: logits.rows.length,
  };
}

/** Concatenates the crop rows of several sets of the same classifier (lesions into a patient). */
export function concatLogits(sets: readonly CropLogits[]): CropLogits | null {
  if (sets.length === 0) return null;
  return { role: sets[0].role, classes: sets[0].classes, rows: sets.flatMap((set) => set.rows) };
}

/**
 * Composes the two stages into a {@link Classification}.
 *
 * The benign/malignant model's classes are [benign, malignant] (label 0 benign, 1 malignant, as the study codes
 * them). Either subtype output may be null when its model is absent: that branch's three entries are then null.
 */
export function composeClassification(
  benignMalignant: ClassifierOutput,
  malignantSubtype: ClassifierOutput | null,
  benignSubtype: ClassifierOutput | null,
): Classification {
  if (benignMalignant.probabilities.length !== 2) {
    throw new LilnetError(
      'INTERNAL',
      `the benign/malignant classifier has ${benignMalignant.probabilities.length} classes, expected 2`,
    );
  }
  checkSubtypeClasses(malignantSubtype, MALIGNANT_SUBTYPES);
  checkSubtypeClasses(benignSubtype, BENIGN_SUBTYPES);

  const pMalignant = benignMalignant.probabilities[1];
  const pBenign = benignMalignant.probabilities[0];
  // The branch follows the larger mean logit, which is the argmax the study uses; ties go to malignant, the
  // branch whose miss costs more.
  const branch: Branch =
    benignMalignant.meanLogits[1] >= benignMalignant.meanLogits[0] ? 'malignant' : 'benign';

  const probabilities = {} as Record<LesionClass, number | null>;
  MALIGNANT_SUBTYPES.forEach((name, i) => {
    probabilities[name] = malignantSubtype ? pMalignant * malignantSubtype.probabilities[i] : null;
  });
  BENIGN_SUBTYPES.forEach((name, i) => {
    probabilities[name] = benignSubtype ? pBenign * benignSubtype.probabilities[i] : null;
  });

  const branchSubtype = branch === 'malignant' ? malignantSubtype : benignSubtype;
  const branchClasses = branch === 'malignant' ? MALIGNANT_SUBTYPES : BENIGN_SUBTYPES;
  let call: LesionClass | null = null;
  let callProbability = branch === 'malignant' ? pMalignant : pBenign;
  if (branchSubtype) {
    const best = argmax(branchSubtype.meanLogits);
    call = branchClasses[best];
    callProbability = probabilities[call] as number;
  }

  return {
    pMalignant,
    branch,
    benignMalignant,
    malignantSubtype,
    benignSubtype,
    probabilities,
    call,
    callProbability,
  };
}

export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function checkSubtypeClasses(output: ClassifierOutput | null, expected: readonly string[]): void {
  if (output && output.probabilities.length !== expected.length) {
    throw new LilnetError(
      'INTERNAL',
      `the ${output.role} classifier has ${output.probabilities.length} classes, expected ${expected.length} ` +
        `(${expected.join(', ')})`,
    );
  }
}
