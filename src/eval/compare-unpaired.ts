/**
 * Comparison of two models scored on different patients, or on the same patients without identifiers that pair
 * them: each AUC with its own DeLong variance, the difference tested as between independent samples
 * (z = difference / sqrt(variance A + variance B)), and the accuracies with the two-proportion z-test (pooled
 * proportion, no continuity correction; the same p-value as Pearson's chi-square test of the 2 x 2 table).
 *
 * When the patients are in fact the same, ignoring their pairing discards the positive correlation between the
 * two models, so the test is conservative: its p-values are larger than those of the paired test.
 */
import { LilnetError } from '../errors.ts';
import { macroAucVariance } from './delong-macro.ts';
import { delongVariance } from './delong.ts';
import {
  bootstrapWarning,
  metricDataFor,
  recordedPredictionWarnings,
  type AucScore,
  type EvaluateOptions,
  type Interval,
  type LabelSource,
  type PerClass,
} from './evaluate.ts';
import { summariseModel, type DelongReport, type ModelSummary, type PairedDifference } from './compare.ts';
import { quantileSorted } from './bootstrap.ts';
import { computeMetrics, type MetricData } from './metrics.ts';
import type { PredictionSet } from './predictions.ts';
import { SeededRandom } from './random.ts';
import { normalTwoSidedP, Z_975 } from './special.ts';
import type { EvalWarning } from './warnings.ts';

export interface TwoProportionTest {
  method: 'two-proportion-z';
  correct_a: number;
  correct_b: number;
  z: number | null;
  p_value: number;
}

export interface UnpairedComparisonReport {
  design: 'unpaired';
  task: string;
  classes: string[];
  patients_a: number;
  patients_b: number;
  auc_score: AucScore;
  label_source: LabelSource;
  a: ModelSummary;
  b: ModelSummary;
  /** Per class, the AUC difference tested as between independent samples; null where an AUC is undefined. */
  delong: PerClass<DelongReport | null>;
  delong_macro: DelongReport | null;
  accuracy_test: TwoProportionTest;
  bootstrap?: {
    resamples: number;
    seed: number;
    auc_macro_difference: PairedDifference;
    accuracy_difference: PairedDifference;
  };
  warnings: EvalWarning[];
}

function independentDifference(
  a: { auc: number; variance: number },
  b: { auc: number; variance: number },
): DelongReport {
  const difference = a.auc - b.auc;
  const standardError = Math.sqrt(a.variance + b.variance);
  const z = standardError > 0 ? difference / standardError : null;
  return {
    auc_a: a.auc,
    auc_b: b.auc,
    difference,
    standard_error: standardError,
    z,
    p_value: z === null ? 1 : normalTwoSidedP(z),
    ci95: [difference - Z_975 * standardError, difference + Z_975 * standardError],
  };
}

/** Runs the two-proportion z-test of the accuracies `correctA / totalA` and `correctB / totalB`. */
export function twoProportionTest(
  correctA: number,
  totalA: number,
  correctB: number,
  totalB: number,
): TwoProportionTest {
  const pooled = (correctA + correctB) / (totalA + totalB);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  const difference = correctA / totalA - correctB / totalB;
  const z = standardError > 0 ? difference / standardError : null;
  return {
    method: 'two-proportion-z',
    correct_a: correctA,
    correct_b: correctB,
    z,
    p_value: z === null ? 1 : normalTwoSidedP(z),
  };
}

function classCounts(data: MetricData): number[] {
  const counts = new Array<number>(data.classCount).fill(0);
  for (const label of data.labels) counts[label] += 1;
  return counts;
}

function scoreRows(data: MetricData): number[][] {
  return Array.from(data.labels, (_, i) => data.scoreColumns.map((column) => column[i]));
}

/** Draws independent resamples of both sets and returns 95% intervals of the macro-AUC and accuracy differences. */
function unpairedBootstrap(
  dataA: MetricData,
  dataB: MetricData,
  resamples: number,
  seed: number,
): { auc: Interval | null; accuracy: Interval | null; aucResamplesUsed: number } {
  const random = new SeededRandom(seed);
  const weightsA = new Float64Array(dataA.labels.length);
  const weightsB = new Float64Array(dataB.labels.length);
  const aucDifferences: number[] = [];
  const accuracyDifferences: number[] = [];
  const draw = (weights: Float64Array): void => {
    weights.fill(0);
    for (let i = 0; i < weights.length; i += 1) weights[random.nextInt(weights.length)] += 1;
  };
  for (let resample = 0; resample < resamples; resample += 1) {
    draw(weightsA);
    draw(weightsB);
    const metricsA = computeMetrics(dataA, weightsA);
    const metricsB = computeMetrics(dataB, weightsB);
    accuracyDifferences.push(metricsA.accuracy - metricsB.accuracy);
    if (metricsA.aucMacro !== null && metricsB.aucMacro !== null) {
      aucDifferences.push(metricsA.aucMacro - metricsB.aucMacro);
    }
  }
  const interval = (values: number[]): Interval | null => {
    if (values.length === 0) return null;
    const sorted = Float64Array.from(values).sort();
    return [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)];
  };
  return {
    auc: interval(aucDifferences),
    accuracy: interval(accuracyDifferences),
    aucResamplesUsed: aucDifferences.length,
  };
}

/** Compares model A with model B without pairing patients. */
export function compareUnpaired(
  a: PredictionSet,
  b: PredictionSet,
  options: EvaluateOptions,
): UnpairedComparisonReport {
  if (a.task.classes.join('\u0000') !== b.task.classes.join('\u0000')) {
    throw new LilnetError(
      'EVAL_INPUTS_MISMATCHED',
      `${a.source} (${a.task.classes.join('/')}) and ${b.source} (${b.task.classes.join('/')}) are not the same task`,
      { hint: 'compare two models of the same task, and pass the same --task or --classes for both files' },
    );
  }
  const classes = a.task.classes;
  const dataA = metricDataFor(a.patients, a, options);
  const dataB = metricDataFor(b.patients, b, options);
  const metricsA = computeMetrics(dataA);
  const metricsB = computeMetrics(dataB);
  const countsA = classCounts(dataA);
  const countsB = classCounts(dataB);
  const testable = (counts: number[], k: number, total: number): boolean =>
    counts[k] >= 2 && total - counts[k] >= 2;
  const warnings: EvalWarning[] = [];

  const delong: PerClass<DelongReport | null> = {};
  classes.forEach((name, k) => {
    if (!testable(countsA, k, dataA.labels.length) || !testable(countsB, k, dataB.labels.length)) {
      delong[name] = null;
      warnings.push({
        kind: 'class-absent',
        message: `The AUC test for ${name} is not computed (null): each file needs at least two patients with and two without that label.`,
      });
      return;
    }
    delong[name] = independentDifference(
      delongVariance(
        dataA.scoreColumns[k],
        Array.from(dataA.labels, (label) => label === k),
      ),
      delongVariance(
        dataB.scoreColumns[k],
        Array.from(dataB.labels, (label) => label === k),
      ),
    );
  });

  const macroTestable = countsA.every((count) => count >= 2) && countsB.every((count) => count >= 2);
  let delongMacro: DelongReport | null = null;
  if (macroTestable) {
    const macroA = macroAucVariance(scoreRows(dataA), Array.from(dataA.labels), classes.length);
    const macroB = macroAucVariance(scoreRows(dataB), Array.from(dataB.labels), classes.length);
    delongMacro = independentDifference(
      { auc: macroA.aucMacro, variance: macroA.variance },
      { auc: macroB.aucMacro, variance: macroB.variance },
    );
  }

  const correct = (data: MetricData): number =>
    Array.from(data.labels).filter((label, i) => data.predictions[i] === label).length;

  const report: UnpairedComparisonReport = {
    design: 'unpaired',
    task: a.task.name,
    classes: [...classes],
    patients_a: dataA.labels.length,
    patients_b: dataB.labels.length,
    auc_score: options.aucScore,
    label_source: options.labelSource,
    a: summariseModel(a, metricsA, classes),
    b: summariseModel(b, metricsB, classes),
    delong,
    delong_macro: delongMacro,
    accuracy_test: twoProportionTest(
      correct(dataA),
      dataA.labels.length,
      correct(dataB),
      dataB.labels.length,
    ),
    warnings: [
      ...a.warnings,
      ...b.warnings,
      ...recordedPredictionWarnings(a),
      ...recordedPredictionWarnings(b),
      ...warnings,
    ],
  };

  const bootstrap = options.bootstrap;
  if (bootstrap && bootstrap.resamples > 0) {
    const intervals = unpairedBootstrap(dataA, dataB, bootstrap.resamples, bootstrap.seed);
    const aucEstimate =
      metricsA.aucMacro === null || metricsB.aucMacro === null ? null : metricsA.aucMacro - metricsB.aucMacro;
    const aucInterval = intervals.auc
      ? { lower: intervals.auc[0], upper: intervals.auc[1], resamplesUsed: intervals.aucResamplesUsed }
      : null;
    report.warnings.push(
      ...bootstrapWarning(new Map([['auc_macro_difference', aucInterval]]), bootstrap.resamples),
    );
    report.bootstrap = {
      resamples: bootstrap.resamples,
      seed: bootstrap.seed,
      auc_macro_difference: { estimate: aucEstimate, ci95: intervals.auc },
      accuracy_difference: { estimate: metricsA.accuracy - metricsB.accuracy, ci95: intervals.accuracy },
    };
  }
  return report;
}
