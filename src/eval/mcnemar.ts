/**
 * McNemar's test for two paired accuracies (two models, or a model and a reader, on the same patients). Only
 * the discordant pairs count: b = cases only A got right, c = cases only B got right. With fewer than
 * {@link EXACT_TEST_LIMIT} discordant pairs the exact binomial test is used (two-sided, twice the smaller tail of
 * Binomial(b + c, 1/2), capped at 1); otherwise the chi-square statistic with Edwards' continuity correction,
 * (|b - c| - 1)^2 / (b + c), on one degree of freedom.
 */
import { LilnetError } from '../errors.ts';
import { binomialHalfCdf, chiSquare1Survival } from './special.ts';

/** Below this many discordant pairs the chi-square approximation is poor, so the exact test is used. */
export const EXACT_TEST_LIMIT = 25;

export interface McNemarResult {
  method: 'exact-binomial' | 'chi-square-continuity-corrected';
  /** Cases both got right. */
  bothCorrect: number;
  /** Cases only A got right (b). */
  onlyACorrect: number;
  /** Cases only B got right (c). */
  onlyBCorrect: number;
  bothWrong: number;
  accuracyA: number;
  accuracyB: number;
  /** The chi-square statistic, or null for the exact test. */
  statistic: number | null;
  pValue: number;
}

/** McNemar's test in the snake_case field names of the JSON reports. */
export interface McNemarReport {
  method: McNemarResult['method'];
  both_correct: number;
  only_a_correct: number;
  only_b_correct: number;
  both_wrong: number;
  accuracy_a: number;
  accuracy_b: number;
  statistic: number | null;
  p_value: number;
}

/** Converts a result to its JSON report form. */
export function mcnemarReport(result: McNemarResult): McNemarReport {
  return {
    method: result.method,
    both_correct: result.bothCorrect,
    only_a_correct: result.onlyACorrect,
    only_b_correct: result.onlyBCorrect,
    both_wrong: result.bothWrong,
    accuracy_a: result.accuracyA,
    accuracy_b: result.accuracyB,
    statistic: result.statistic,
    p_value: result.pValue,
  };
}

/** Runs the test on per-case correctness flags of A and B. */
export function mcnemarTest(correctA: readonly boolean[], correctB: readonly boolean[]): McNemarResult {
  if (correctA.length !== correctB.length || correctA.length === 0) {
    throw new LilnetError('INTERNAL', `mcnemarTest: ${correctA.length} and ${correctB.length} paired cases`);
  }
  let bothCorrect = 0;
  let onlyA = 0;
  let onlyB = 0;
  let bothWrong = 0;
  for (let i = 0; i < correctA.length; i += 1) {
    if (correctA[i] && correctB[i]) bothCorrect += 1;
    else if (correctA[i]) onlyA += 1;
    else if (correctB[i]) onlyB += 1;
    else bothWrong += 1;
  }
  const total = correctA.length;
  const discordant = onlyA + onlyB;
  const base = {
    bothCorrect,
    onlyACorrect: onlyA,
    onlyBCorrect: onlyB,
    bothWrong,
    accuracyA: (bothCorrect + onlyA) / total,
    accuracyB: (bothCorrect + onlyB) / total,
  };
  if (discordant < EXACT_TEST_LIMIT) {
    const pValue =
      discordant === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(onlyA, onlyB), discordant));
    return { method: 'exact-binomial', ...base, statistic: null, pValue };
  }
  const statistic = (Math.abs(onlyA - onlyB) - 1) ** 2 / discordant;
  return {
    method: 'chi-square-continuity-corrected',
    ...base,
    statistic,
    pValue: chiSquare1Survival(statistic),
  };
}
