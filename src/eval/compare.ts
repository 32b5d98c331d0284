/**
 * Paired comparison of two models on the same patients: DeLong's test of each class's one-vs-rest AUC,
 * McNemar's test of the accuracies, and, when bootstrapping, paired percentile intervals of the macro AUC and
 * accuracy differences.
 */
import { LilnetError } from '../errors.ts';
import { bootstrapIntervals } from './bootstrap.ts';
import { delongMacroTest } from './delong-macro.ts';
import { delongTest } from './delong.ts';
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
import { mcnemarReport, mcnemarTest, type McNemarReport } from './mcnemar.ts';
import { computeMetrics } from './metrics.ts';
import type { PatientPrediction, PredictionSet } from './predictions.ts';
import { listSome, type EvalWarning } from './warnings.ts';

export interface ModelSummary {
  source: string;
  accuracy: number;
  auc_macro: number | null;
  auc_per_class: PerClass<number | null>;
}

/** Summarises one model's point estimates for a comparison report. */
export function summariseModel(
  set: PredictionSet,
  metrics: Pick<ReturnType<typeof computeMetrics>, 'accuracy' | 'aucMacro' | 'aucPerClass'>,
  classes: readonly string[],
): ModelSummary {
  return {
    source: set.source,
    accuracy: metrics.accuracy,
    auc_macro: metrics.aucMacro,
    auc_per_class: Object.fromEntries(classes.map((name, k) => [name, metrics.aucPerClass[k]])),
  };
}

export interface DelongReport {
  auc_a: number;
  auc_b: number;
  difference: number;
  standard_error: number;
  z: number | null;
  p_value: number;
  ci95: Interval;
}

export interface PairedDifference {
  /** Model A minus model B. */
  estimate: number | null;
  ci95: Interval | null;
}

export interface ComparisonReport {
  design: 'paired';
  task: string;
  classes: string[];
  patients: number;
  auc_score: AucScore;
  label_source: LabelSource;
  a: ModelSummary;
  b: ModelSummary;
  /** DeLong's test per class (one-vs-rest); null for a class whose AUC is undefined. */
  delong: PerClass<DelongReport | null>;
  /** DeLong-type test of the macro AUCs (see delong-macro.ts); null when a class has fewer than two patients. */
  delong_macro: DelongReport | null;
  /** McNemar's test of the paired accuracies, A against B. */
  mcnemar: McNemarReport;
  bootstrap?: {
    resamples: number;
    seed: number;
    auc_macro_difference: PairedDifference;
    accuracy_difference: PairedDifference;
  };
  warnings: EvalWarning[];
}

/** Pairs the patients of two sets; raises when the tasks, classes or labels disagree. */
function pairPatients(
  a: PredictionSet,
  b: PredictionSet,
): { pairsA: PatientPrediction[]; pairsB: PatientPrediction[]; warnings: EvalWarning[] } {
  if (a.task.classes.length !== b.task.classes.length || a.task.name !== b.task.name) {
    throw new LilnetError(
      'EVAL_INPUTS_MISMATCHED',
      `${a.source} (${a.task.classes.join('/')}) and ${b.source} (${b.task.classes.join('/')}) are not the same task`,
      { hint: 'compare two models of the same task, and pass --task when both files have three classes' },
    );
  }

  rejectRepeatedPatients(a);
  rejectRepeatedPatients(b);
  const byPatientB = new Map(b.patients.map((patient) => [patient.patient, patient]));
  const pairsA: PatientPrediction[] = [];
  const pairsB: PatientPrediction[] = [];
  const onlyA: string[] = [];
  const relabelled: [PatientPrediction, PatientPrediction][] = [];
  for (const patient of a.patients) {
    const other = byPatientB.get(patient.patient);
    if (other === undefined) {
      onlyA.push(patient.patient);
      continue;
    }
    if (other.label !== patient.label) relabelled.push([patient, other]);
    pairsA.push(patient);
    pairsB.push(other);
  }

  if (relabelled.length > 0) {
    const [first, firstOther] = relabelled[0];
    throw new LilnetError(
      'EVAL_INPUTS_MISMATCHED',
      `${relabelled.length} of ${pairsA.length} patients have different labels in the two files; the first is ` +
        `patient ${first.patient}: ${a.task.classes[first.label]} in ${a.source} (line ${first.line}) but ` +
        `${b.task.classes[firstOther.label]} in ${b.source} (line ${firstOther.line})`,
      {
        hint:
          'a paired test needs the same patients under the same identifiers; files whose identifiers are row ' +
          'numbers pair correctly only when both list the patients in the same order. Without a pairing, ' +
          'use --unpaired',
      },
    );
  }

  const pairedIds = new Set(pairsA.map((patient) => patient.patient));
  const onlyB = b.patients
    .filter((patient) => !pairedIds.has(patient.patient))
    .map((patient) => patient.patient);
  if (pairsA.length === 0) {
    throw new LilnetError('EVAL_INPUTS_MISMATCHED', `${a.source} and ${b.source} have no patient in common`, {
      hint: 'a paired comparison needs both models scored on the same patients; for different patients use --unpaired',
    });
  }

  const warnings: EvalWarning[] = [];
  if (onlyA.length + onlyB.length > 0) {
    warnings.push({
      kind: 'patients-unpaired',
      message:
        `The comparison uses the ${pairsA.length} patients present in both files; left out: ` +
        `${onlyA.length} only in ${a.source}${onlyA.length ? ` (${listSome(onlyA)})` : ''}, ` +
        `${onlyB.length} only in ${b.source}${onlyB.length ? ` (${listSome(onlyB)})` : ''}.`,
      patients: [...onlyA, ...onlyB],
    });
  }
  return { pairsA, pairsB, warnings };
}

/** Throws when a patient has several rows, because pairing would reuse or drop rows of the other file. */
export function rejectRepeatedPatients(set: PredictionSet): void {
  const firstLine = new Map<string, number>();
  for (const patient of set.patients) {
    const line = firstLine.get(patient.patient);
    if (line !== undefined) {
      throw new LilnetError(
        'EVAL_INPUTS_MISMATCHED',
        `patient ${patient.patient} appears on lines ${line} and ${patient.line} of ${set.source}, so it cannot be paired with one patient of the other file`,
        {
          hint: 'keep one row per patient (or use per-image input, which averages the rows of a patient), or compare with --unpaired',
          file: set.source,
        },
      );
    }
    firstLine.set(patient.patient, patient.line);
  }
}

function paired(
  intervals: ReturnType<typeof bootstrapIntervals>,
  name: string,
  estimate: number | null,
): PairedDifference {
  const interval = intervals.get(name);
  return { estimate, ci95: interval ? [interval.lower, interval.upper] : null };
}

/** Compares model A with model B on their common patients. */
export function comparePredictions(
  a: PredictionSet,
  b: PredictionSet,
  options: EvaluateOptions,
): ComparisonReport {
  const { pairsA, pairsB, warnings } = pairPatients(a, b);
  const dataA = metricDataFor(pairsA, a, options);
  const dataB = metricDataFor(pairsB, b, options);
  const metricsA = computeMetrics(dataA);
  const metricsB = computeMetrics(dataB);
  const classes = a.task.classes;

  const delong: PerClass<DelongReport | null> = {};
  classes.forEach((name, k) => {
    const positives = Array.from(dataA.labels, (label) => label === k);
    const positiveCount = positives.filter(Boolean).length;
    if (positiveCount < 2 || positives.length - positiveCount < 2) {
      delong[name] = null;
      warnings.push({
        kind: 'class-absent',
        message: `DeLong's test for ${name} is not computed (null): it needs at least two patients with and two without that label, and there are ${positiveCount} with it.`,
      });
      return;
    }
    const result = delongTest(dataA.scoreColumns[k], dataB.scoreColumns[k], positives);
    delong[name] = {
      auc_a: result.aucA,
      auc_b: result.aucB,
      difference: result.difference,
      standard_error: result.standardError,
      z: result.z,
      p_value: result.pValue,
      ci95: result.ci95,
    };
  });

  let delongMacro: DelongReport | null = null;
  const classSizes = classes.map((_, k) => Array.from(dataA.labels).filter((label) => label === k).length);
  if (classSizes.every((size) => size >= 2)) {
    const scoreRows = (data: typeof dataA): number[][] =>
      Array.from(data.labels, (_, i) => data.scoreColumns.map((column) => column[i]));
    const result = delongMacroTest(
      scoreRows(dataA),
      scoreRows(dataB),
      Array.from(dataA.labels),
      classes.length,
    );
    delongMacro = {
      auc_a: result.aucMacroA,
      auc_b: result.aucMacroB,
      difference: result.difference,
      standard_error: result.standardError,
      z: result.z,
      p_value: result.pValue,
      ci95: result.ci95,
    };
  }

  const correctness = (data: typeof dataA): boolean[] =>
    Array.from(data.labels, (label, i) => data.predictions[i] === label);

  const report: ComparisonReport = {
    design: 'paired',
    task: a.task.name,
    classes: [...classes],
    patients: pairsA.length,
    auc_score: options.aucScore,
    label_source: options.labelSource,
    a: summariseModel(a, metricsA, classes),
    b: summariseModel(b, metricsB, classes),
    delong,
    delong_macro: delongMacro,
    mcnemar: mcnemarReport(mcnemarTest(correctness(dataA), correctness(dataB))),
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
    const intervals = bootstrapIntervals(pairsA.length, bootstrap, (weights) => {
      const resampledA = computeMetrics(dataA, weights);
      const resampledB = computeMetrics(dataB, weights);
      const aucDifference =
        resampledA.aucMacro === null || resampledB.aucMacro === null
          ? null
          : resampledA.aucMacro - resampledB.aucMacro;
      return new Map([
        ['auc_macro_difference', aucDifference],
        ['accuracy_difference', resampledA.accuracy - resampledB.accuracy],
      ]);
    });
    const aucEstimate =
      metricsA.aucMacro === null || metricsB.aucMacro === null ? null : metricsA.aucMacro - metricsB.aucMacro;
    report.warnings.push(...bootstrapWarning(intervals, bootstrap.resamples));
    report.bootstrap = {
      resamples: bootstrap.resamples,
      seed: bootstrap.seed,
      auc_macro_difference: paired(intervals, 'auc_macro_difference', aucEstimate),
      accuracy_difference: paired(intervals, 'accuracy_difference', metricsA.accuracy - metricsB.accuracy),
    };
  }
  return report;
}
