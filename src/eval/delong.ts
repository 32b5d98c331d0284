/**
 * DeLong's test for two correlated ROC AUCs measured on the same cases (DeLong, DeLong and Clarke-Pearson,
 * Biometrics 44:837-845, 1988). Each AUC is written through per-case placement values (the structural
 * components); their sample covariances give the variance of the AUC difference. Placement values are
 * computed from midranks, the O(n log n) formulation of Sun and Xu (IEEE Signal Processing Letters 21:1389,
 * 2014).
 */
import { LilnetError } from '../errors.ts';
import { normalTwoSidedP, Z_975 } from './special.ts';

export interface DelongResult {
  aucA: number;
  aucB: number;
  /** aucA - aucB. */
  difference: number;
  /** DeLong variances of each AUC and their covariance. */
  varianceA: number;
  varianceB: number;
  covariance: number;
  /** Standard error of the difference. */
  standardError: number;
  /** difference / standardError; null when the standard error is 0 (identical placement values). */
  z: number | null;
  /** Two-sided p-value from the standard normal distribution; 1 when the standard error is 0. */
  pValue: number;
  /** 95% interval of the difference, difference +- 1.96 standard errors. */
  ci95: [number, number];
  positives: number;
  negatives: number;
}

/** Returns 1-based midranks: tied values share the mean of the ranks they occupy. */
export function midranks(values: ArrayLike<number>): Float64Array {
  const count = values.length;
  const order = Array.from({ length: count }, (_, index) => index).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(count);
  let start = 0;
  while (start < count) {
    let end = start;
    while (end + 1 < count && values[order[end + 1]] === values[order[start]]) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let position = start; position <= end; position += 1) ranks[order[position]] = rank;
    start = end + 1;
  }
  return ranks;
}

interface Placements {
  auc: number;
  /** For each positive, the share of negatives it outscores (ties one half). */
  positivePlacements: Float64Array;
  /** For each negative, the share of positives that outscore it (ties one half). */
  negativePlacements: Float64Array;
}

function placements(positiveScores: Float64Array, negativeScores: Float64Array): Placements {
  const m = positiveScores.length;
  const n = negativeScores.length;
  const combined = new Float64Array(m + n);
  combined.set(positiveScores, 0);
  combined.set(negativeScores, m);
  const combinedRanks = midranks(combined);
  const positiveRanks = midranks(positiveScores);
  const negativeRanks = midranks(negativeScores);
  const positivePlacements = new Float64Array(m);
  const negativePlacements = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < m; i += 1) {
    positivePlacements[i] = (combinedRanks[i] - positiveRanks[i]) / n;
    sum += positivePlacements[i];
  }
  for (let j = 0; j < n; j += 1) negativePlacements[j] = 1 - (combinedRanks[m + j] - negativeRanks[j]) / m;
  return { auc: sum / m, positivePlacements, negativePlacements };
}

function covariance(a: Float64Array, b: Float64Array, meanA: number, meanB: number): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += (a[i] - meanA) * (b[i] - meanB);
  return sum / (a.length - 1);
}

/**
 * Compares the AUCs of two scores of the same cases. `positive[i]` marks the cases of the positive class.
 * Raises EVAL_INPUTS_MISMATCHED when fewer than two positives or two negatives make the variance undefined.
 */
export function delongTest(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  positive: ArrayLike<boolean>,
): DelongResult {
  if (scoresA.length !== scoresB.length || scoresA.length !== positive.length) {
    throw new LilnetError('INTERNAL', 'delongTest: the two score arrays and the labels differ in length');
  }
  const pick = (scores: ArrayLike<number>, positiveSide: boolean): Float64Array => {
    const indices = Array.from({ length: scores.length }, (_, i) => i).filter(
      (i) => positive[i] === positiveSide,
    );
    return Float64Array.from(indices, (i) => scores[i]);
  };
  const positiveA = pick(scoresA, true);
  const negativeA = pick(scoresA, false);
  const positiveB = pick(scoresB, true);
  const negativeB = pick(scoresB, false);
  const m = positiveA.length;
  const n = negativeA.length;
  if (m < 2 || n < 2) {
    throw new LilnetError(
      'EVAL_INPUTS_MISMATCHED',
      `DeLong's test needs at least two positive and two negative cases; found ${m} positive and ${n} negative`,
      { hint: 'compare on a cohort that contains both groups' },
    );
  }

  const a = placements(positiveA, negativeA);
  const b = placements(positiveB, negativeB);
  // Both kinds of placement value average to the AUC, so the AUC is the mean in every covariance.
  const varianceA =
    covariance(a.positivePlacements, a.positivePlacements, a.auc, a.auc) / m +
    covariance(a.negativePlacements, a.negativePlacements, a.auc, a.auc) / n;
  const varianceB =
    covariance(b.positivePlacements, b.positivePlacements, b.auc, b.auc) / m +
    covariance(b.negativePlacements, b.negativePlacements, b.auc, b.auc) / n;
  const covarianceAB =
    covariance(a.positivePlacements, b.positivePlacements, a.auc, b.auc) / m +
    covariance(a.negativePlacements, b.negativePlacements, a.auc, b.auc) / n;

  const difference = a.auc - b.auc;
  const variance = Math.max(0, varianceA + varianceB - 2 * covarianceAB);
  const standardError = Math.sqrt(variance);
  const z = standardError > 0 ? difference / standardError : null;
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference,
    varianceA,
    varianceB,
    covariance: covarianceAB,
    standardError,
    z,
    pValue: z === null ? 1 : normalTwoSidedP(z),
    ci95: [difference - Z_975 * standardError, difference + Z_975 * standardError],
    positives: m,
    negatives: n,
  };
}

/** Returns the AUC of one score and its DeLong variance (the test of a score against itself). */
export function delongVariance(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean>,
): { auc: number; variance: number } {
  const result = delongTest(scores, scores, positive);
  return { auc: result.aucA, variance: result.varianceA };
}
