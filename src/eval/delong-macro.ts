/**
 * DeLong-type test for the difference of two macro-averaged one-vs-rest AUCs on the same patients.
 *
 * Each one-vs-rest AUC of class c is a sum of two-sample U-statistics between class c and every other class d,
 * weighted by n_d / (N - n_c). DeLong's structural components then extend to K samples (the classes): each
 * patient gets one combined placement value per model,
 *
 *   phi(p) = (1/K) * [ V10_g(p) + sum over c != g of (n_g / (N - n_c)) * V01_c(p) ],   g = class of p,
 *
 * where V10_g(p) is the share of patients outside g that p outscores on the class-g score and V01_c(p) the share
 * of class-c patients that outscore p on the class-c score (ties count one half). The variance of the macro AUC
 * difference is the sum over classes of the sample variance of phi_A - phi_B within the class, divided by the
 * class size. For two classes this is exactly DeLong's variance of the mean of the two column AUCs. For more
 * classes it treats the class sizes as fixed, as a stratified design does.
 *
 * NOTE: for more than two classes this extension is checked only against an independent implementation of the
 * same formula, not against a published example.
 */
import { LilnetError } from '../errors.ts';
import { midranks } from './delong.ts';
import { normalTwoSidedP, Z_975 } from './special.ts';

export interface MacroDelongResult {
  aucMacroA: number;
  aucMacroB: number;
  difference: number;
  varianceA: number;
  varianceB: number;
  standardError: number;
  /** difference / standardError; null when the standard error is 0. */
  z: number | null;
  pValue: number;
  ci95: [number, number];
}

/** Returns each patient's combined placement value and the macro AUC for one model's class scores. */
function macroPlacements(
  scores: readonly (readonly number[])[],
  labels: readonly number[],
  classCount: number,
): { phi: Float64Array; aucMacro: number } {
  const total = labels.length;
  const classSizes = new Array<number>(classCount).fill(0);
  for (const label of labels) classSizes[label] += 1;
  const phi = new Float64Array(total);
  let aucSum = 0;

  for (let c = 0; c < classCount; c += 1) {
    const positives: number[] = [];
    const negatives: number[] = [];
    labels.forEach((label, p) => (label === c ? positives : negatives).push(p));
    const column = Float64Array.from(labels, (_, p) => scores[p][c]);
    const combinedRanks = midranks(column);
    const positiveRanks = midranks(Float64Array.from(positives, (p) => column[p]));
    const negativeRanks = midranks(Float64Array.from(negatives, (p) => column[p]));
    const m = positives.length;
    const n = negatives.length;

    let placementSum = 0;
    positives.forEach((p, index) => {
      // Share of patients outside class c that p outscores (V10).
      const placement = (combinedRanks[p] - positiveRanks[index]) / n;
      placementSum += placement;
      phi[p] += placement / classCount;
    });
    negatives.forEach((p, index) => {
      // Share of class-c patients that outscore p (V01), weighted by the share of p's class among the negatives.
      const placement = 1 - (combinedRanks[p] - negativeRanks[index]) / m;
      phi[p] += ((classSizes[labels[p]] / n) * placement) / classCount;
    });
    aucSum += placementSum / m;
  }
  return { phi, aucMacro: aucSum / classCount };
}

/** Returns the sum over classes of the within-class sample variance of `values`, divided by the class size. */
function stratifiedVariance(values: Float64Array, labels: readonly number[], classCount: number): number {
  let variance = 0;
  for (let c = 0; c < classCount; c += 1) {
    const members = labels.flatMap((label, p) => (label === c ? [values[p]] : []));
    const mean = members.reduce((sum, value) => sum + value, 0) / members.length;
    const sumOfSquares = members.reduce((sum, value) => sum + (value - mean) ** 2, 0);
    variance += sumOfSquares / (members.length - 1) / members.length;
  }
  return variance;
}

/**
 * Compares the macro one-vs-rest AUCs of two models scored on the same patients. `scoresA[p][c]` is model A's
 * class-c score of patient p. Raises EVAL_INPUTS_MISMATCHED when a class has fewer than two patients.
 */
export function delongMacroTest(
  scoresA: readonly (readonly number[])[],
  scoresB: readonly (readonly number[])[],
  labels: readonly number[],
  classCount: number,
): MacroDelongResult {
  for (let c = 0; c < classCount; c += 1) {
    const size = labels.filter((label) => label === c).length;
    if (size < 2) {
      throw new LilnetError(
        'EVAL_INPUTS_MISMATCHED',
        `the macro-AUC DeLong test needs at least two patients per class; class ${c} has ${size}`,
        { hint: 'compare on a cohort that contains every class at least twice' },
      );
    }
  }
  const a = macroPlacements(scoresA, labels, classCount);
  const b = macroPlacements(scoresB, labels, classCount);
  const differencePlacements = Float64Array.from(a.phi, (value, p) => value - b.phi[p]);

  const difference = a.aucMacro - b.aucMacro;
  const standardError = Math.sqrt(stratifiedVariance(differencePlacements, labels, classCount));
  const z = standardError > 0 ? difference / standardError : null;
  return {
    aucMacroA: a.aucMacro,
    aucMacroB: b.aucMacro,
    difference,
    varianceA: stratifiedVariance(a.phi, labels, classCount),
    varianceB: stratifiedVariance(b.phi, labels, classCount),
    standardError,
    z,
    pValue: z === null ? 1 : normalTwoSidedP(z),
    ci95: [difference - Z_975 * standardError, difference + Z_975 * standardError],
  };
}

/** Returns the macro one-vs-rest AUC of one model and its variance under the same K-sample placement values. */
export function macroAucVariance(
  scores: readonly (readonly number[])[],
  labels: readonly number[],
  classCount: number,
): { aucMacro: number; variance: number } {
  const result = delongMacroTest(scores, scores, labels, classCount);
  return { aucMacro: result.aucMacroA, variance: result.varianceA };
}
