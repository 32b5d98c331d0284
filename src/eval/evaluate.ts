/**
 * Patient-level evaluation of one prediction set: the metrics, their bootstrap intervals, ROC curves, Youden
 * thresholds and the data-quality warnings, as one JSON-ready report.
 */
import { LilnetError } from '../errors.ts';
import { argmax, softmax } from './aggregate.ts';
import { bootstrapIntervals, type BootstrapOptions, type ConfidenceInterval } from './bootstrap.ts';
import {
  computeMetrics,
  prepareMetricData,
  scalarMetrics,
  type MetricData,
  type MetricValues,
} from './metrics.ts';
import type { PatientPrediction, PredictionFormat, PredictionSet, ScoreKind } from './predictions.ts';
import { rocCurve, youdenPoint, type RocPoint } from './roc.ts';
import type { TaskDefinition } from './tasks.ts';
import { listSome, type EvalWarning } from './warnings.ts';

export type AucScore = 'logits' | 'probabilities';
export type LabelSource = 'argmax' | 'recorded';

export const AUC_SCORES: readonly AucScore[] = ['logits', 'probabilities'];
export const LABEL_SOURCES: readonly LabelSource[] = ['argmax', 'recorded'];

export interface EvaluateOptions {
  aucScore: AucScore;
  labelSource: LabelSource;
  /** Bootstrap settings; no intervals are computed when omitted or when `resamples` is 0. */
  bootstrap?: BootstrapOptions;
}

export type Interval = [number, number];
export type PerClass<T> = Record<string, T>;

export interface YoudenReport {
  threshold: number;
  sensitivity: number;
  specificity: number;
  youden_j: number;
}

/** The metrics of one group of patients, in the JSON field names of `lilnet eval --json`. */
export interface MetricReport {
  patients: number;
  class_support: PerClass<number>;
  accuracy: number;
  auc_macro: number | null;
  auc_weighted: number | null;
  auc_per_class: PerClass<number | null>;
  recall_macro: number;
  recall_weighted: number;
  precision_macro: number;
  precision_weighted: number;
  f1_macro: number;
  f1_weighted: number;
  recall_per_class: PerClass<number>;
  precision_per_class: PerClass<number>;
  f1_per_class: PerClass<number>;
  /** Present for two-class tasks; class 1 is the positive class. */
  positive_class?: string;
  sensitivity?: number | null;
  specificity?: number | null;
  ppv?: number | null;
  npv?: number | null;
  /** Rows: reference class; columns: predicted class; both in `classes` order. */
  confusion_matrix: number[][];
  youden: PerClass<YoudenReport | null>;
  roc_curves: PerClass<RocPoint[]>;
  /** 95% percentile-bootstrap intervals, keyed like the metrics; null where a metric was never defined. */
  ci95?: Record<string, Interval | null | PerClass<Interval | null>>;
  bootstrap?: { resamples: number; seed: number; method: string };
  warnings: EvalWarning[];
}

export interface EvaluationReport extends MetricReport {
  source: string;
  format: PredictionSet['format'];
  task: TaskDefinition['name'];
  classes: string[];
  aggregation?: string;
  auc_score: AucScore;
  label_source: LabelSource;
}

/** Returns the per-class AUC scores of a patient: its logits, or the softmax probabilities. */
export function aucScores(
  patient: PatientPrediction,
  scoreKind: ScoreKind,
  aucScore: AucScore,
  source: string,
): number[] {
  if (aucScore === 'probabilities')
    return scoreKind === 'probabilities' ? patient.scores : softmax(patient.scores);
  if (scoreKind === 'probabilities') {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--auc-score logits needs logits, but the scores of ${source} are mean probabilities`,
      {
        hint: 'use --auc-score probabilities, or aggregate the images with --aggregate mean-logits',
      },
    );
  }
  return patient.scores;
}

/** Returns the predicted class of a patient from the argmax of its scores or from its recorded `pred_label`. */
export function predictedClass(
  patient: PatientPrediction,
  labelSource: LabelSource,
  source: string,
  format?: PredictionFormat,
): number {
  if (labelSource === 'argmax') return argmax(patient.scores);
  if (format === 'per-image') {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--label-source recorded needs per-patient input, but ${source} is per image, so its patient predictions come from the averaged scores`,
      {
        hint: 'use --label-source argmax, or write one row per patient with the recorded prediction in pred_label',
        file: source,
      },
    );
  }
  if (patient.recordedPrediction === undefined) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--label-source recorded needs a pred_label column, and ${source} has none`,
      {
        hint: 'use --label-source argmax, or add the recorded predictions as a pred_label column',
        file: source,
      },
    );
  }
  return patient.recordedPrediction;
}

function perClass<T>(classes: readonly string[], values: readonly T[]): PerClass<T> {
  return Object.fromEntries(classes.map((name, k) => [name, values[k]]));
}

function metricWarnings(values: MetricValues, classes: readonly string[]): EvalWarning[] {
  const warnings: EvalWarning[] = [];
  const defined = values.aucPerClass.filter((auc) => auc !== null).length;
  classes.forEach((name, k) => {
    if (values.aucPerClass[k] !== null) return;
    const reason =
      values.support[k] === 0
        ? `no patient has the label ${name}`
        : `every patient has the label ${name}, so there are no negatives`;
    const averages =
      defined === 0
        ? 'auc_macro and auc_weighted are undefined too (null).'
        : `auc_macro and auc_weighted average the ${defined} class(es) where the AUC is defined.`;
    warnings.push({
      kind: 'class-absent',
      message: `The one-vs-rest AUC of ${name} is undefined (null) because ${reason}; ${averages}`,
    });
  });
  classes.forEach((name, k) => {
    if (values.predictedCount[k] === 0 && values.support[k] > 0) {
      warnings.push({
        kind: 'class-never-predicted',
        message:
          `No patient is predicted ${name}, so the precision of ${name} has no predicted cases; it is reported as 0, ` +
          `as scikit-learn does, and pulls precision_macro down.`,
      });
    }
  });
  return warnings;
}

function nestIntervals(
  intervals: Map<string, ConfidenceInterval | null>,
): Record<string, Interval | null | PerClass<Interval | null>> {
  const nested: Record<string, Interval | null | PerClass<Interval | null>> = {};
  for (const [name, interval] of intervals) {
    const value: Interval | null = interval === null ? null : [interval.lower, interval.upper];
    const dot = name.indexOf('.');
    if (dot < 0) {
      nested[name] = value;
    } else {
      const group = name.slice(0, dot);
      const existing = (nested[group] as PerClass<Interval | null> | undefined) ?? {};
      existing[name.slice(dot + 1)] = value;
      nested[group] = existing;
    }
  }
  return nested;
}

/** Returns a `bootstrap-undefined` warning listing the metrics that were undefined in some resamples. */
export function bootstrapWarning(
  intervals: Map<string, ConfidenceInterval | null>,
  resamples: number,
): EvalWarning[] {
  const partial = [...intervals].filter(
    ([, interval]) => interval === null || interval.resamplesUsed < resamples,
  );
  if (partial.length === 0) return [];
  const parts = partial.map(([name, interval]) => `${name} in ${resamples - (interval?.resamplesUsed ?? 0)}`);
  return [
    {
      kind: 'bootstrap-undefined',
      message:
        `Some metrics were undefined in part of the ${resamples} bootstrap resamples (a resample without ` +
        `patients of a class or without predicted positives): ${listSome(parts)}. Their intervals use the ` +
        `resamples where they are defined.`,
    },
  ];
}

/** Builds the metric data of a group of patients under the options. */
export function metricDataFor(
  patients: readonly PatientPrediction[],
  set: PredictionSet,
  options: EvaluateOptions,
): MetricData {
  return prepareMetricData(
    patients.map((patient) => patient.label),
    patients.map((patient) => predictedClass(patient, options.labelSource, set.source, set.format)),
    patients.map((patient) => aucScores(patient, set.scoreKind, options.aucScore, set.source)),
    set.task.classes.length,
  );
}

/** Evaluates one group of patients (the whole set, or one stratum). */
export function evaluatePatients(
  patients: readonly PatientPrediction[],
  set: PredictionSet,
  options: EvaluateOptions,
): MetricReport {
  const classes = set.task.classes;
  const data = metricDataFor(patients, set, options);
  const values = computeMetrics(data);
  const curves = data.scoreColumns.map((column, k) =>
    rocCurve(
      column,
      Array.from(data.labels, (label) => label === k),
    ),
  );

  const report: MetricReport = {
    patients: patients.length,
    class_support: perClass(classes, values.support),
    accuracy: values.accuracy,
    auc_macro: values.aucMacro,
    auc_weighted: values.aucWeighted,
    auc_per_class: perClass(classes, values.aucPerClass),
    recall_macro: values.recallMacro,
    recall_weighted: values.recallWeighted,
    precision_macro: values.precisionMacro,
    precision_weighted: values.precisionWeighted,
    f1_macro: values.f1Macro,
    f1_weighted: values.f1Weighted,
    recall_per_class: perClass(classes, values.recallPerClass),
    precision_per_class: perClass(classes, values.precisionPerClass),
    f1_per_class: perClass(classes, values.f1PerClass),
    confusion_matrix: values.confusionMatrix,
    youden: perClass(
      classes,
      curves.map((curve) => {
        const point = youdenPoint(curve);
        return point === null
          ? null
          : {
              threshold: point.threshold,
              sensitivity: point.sensitivity,
              specificity: point.specificity,
              youden_j: point.youdenJ,
            };
      }),
    ),
    roc_curves: perClass(classes, curves),
    warnings: metricWarnings(values, classes),
  };
  if (values.binary) {
    report.positive_class = classes[1];
    report.sensitivity = values.binary.sensitivity;
    report.specificity = values.binary.specificity;
    report.ppv = values.binary.ppv;
    report.npv = values.binary.npv;
  }

  const bootstrap = options.bootstrap;
  if (bootstrap && bootstrap.resamples > 0) {
    const intervals = bootstrapIntervals(patients.length, bootstrap, (weights) =>
      scalarMetrics(computeMetrics(data, weights), classes),
    );
    report.ci95 = nestIntervals(intervals);
    report.bootstrap = {
      resamples: bootstrap.resamples,
      seed: bootstrap.seed,
      method: 'percentile, patients resampled with replacement',
    };
    report.warnings.push(...bootstrapWarning(intervals, bootstrap.resamples));
  }
  return report;
}

/** Reports recorded predicted labels that differ from the argmax of the recorded scores. */
export function recordedPredictionWarnings(set: PredictionSet): EvalWarning[] {
  if (!set.hasRecordedPredictions) return [];
  const mismatched = set.patients.filter((patient) => patient.recordedPrediction !== argmax(patient.scores));
  if (mismatched.length === 0) return [];
  const correct = (predict: (patient: PatientPrediction) => number): number =>
    set.patients.filter((patient) => predict(patient) === patient.label).length / set.patients.length;
  const recordedAccuracy = correct((patient) => patient.recordedPrediction as number);
  const argmaxAccuracy = correct((patient) => argmax(patient.scores));
  const percent = (value: number): string => `${(100 * value).toFixed(1)}%`;
  const ids = mismatched.map((patient) => patient.patient);
  return [
    {
      kind: 'recorded-prediction-mismatch',
      message:
        `${mismatched.length} patient(s) have a recorded pred_label that is not the argmax of their scores: ` +
        `${listSome(ids)}. Accuracy is ${percent(recordedAccuracy)} with the recorded labels and ` +
        `${percent(argmaxAccuracy)} with the argmax.`,
      patients: ids,
    },
  ];
}

/** Evaluates a whole prediction set: metrics, intervals, curves, and every warning about the data. */
export function evaluatePredictions(set: PredictionSet, options: EvaluateOptions): EvaluationReport {
  const metrics = evaluatePatients(set.patients, set, options);
  const report: EvaluationReport = {
    source: set.source,
    format: set.format,
    task: set.task.name,
    classes: [...set.task.classes],
    ...(set.aggregation ? { aggregation: set.aggregation } : {}),
    auc_score: options.aucScore,
    label_source: options.labelSource,
    ...metrics,
  };
  report.warnings = [...set.warnings, ...recordedPredictionWarnings(set), ...metrics.warnings];
  return report;
}
