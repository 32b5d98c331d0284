/**
 * Classification metrics at the patient level: accuracy, one-vs-rest ROC AUC, recall, precision, F1, the
 * confusion matrix and, for two classes, sensitivity, specificity, PPV and NPV of class 1.
 *
 * Every function takes optional case weights so that a bootstrap resample is scored as a count per patient.
 * The conventions match scikit-learn 1.2. Precision, recall and F1 of a class with an empty denominator are 0
 * (its `zero_division=0`). "Weighted" averages weight each class by its number of reference cases. The
 * AUC of a class without positives or without negatives is undefined and reported as null, and its macro and
 * weighted averages then run over the classes where it is defined. Sensitivity, specificity, PPV and NPV are
 * null when their denominator is empty.
 */
import { aucFromIndex, buildRocIndex, type RocIndex } from './roc.ts';

/** The data one evaluation scores, with the per-class sort orders the AUC needs prepared once. */
export interface MetricData {
  classCount: number;
  labels: Int32Array;
  predictions: Int32Array;
  /** `scoreColumns[k][i]`: the AUC score of class k for case i. */
  scoreColumns: Float64Array[];
  rocIndexes: RocIndex[];
}

export function prepareMetricData(
  labels: readonly number[],
  predictions: readonly number[],
  scores: readonly (readonly number[])[],
  classCount: number,
): MetricData {
  const scoreColumns = Array.from({ length: classCount }, (_, k) =>
    Float64Array.from(scores, (row) => row[k]),
  );
  const labelArray = Int32Array.from(labels);
  const rocIndexes = scoreColumns.map((column, k) =>
    buildRocIndex(
      column,
      Array.from(labelArray, (label) => label === k),
    ),
  );
  return {
    classCount,
    labels: labelArray,
    predictions: Int32Array.from(predictions),
    scoreColumns,
    rocIndexes,
  };
}

export interface BinaryMetrics {
  sensitivity: number | null;
  specificity: number | null;
  ppv: number | null;
  npv: number | null;
}

export interface MetricValues {
  /** Weighted number of cases. */
  total: number;
  accuracy: number;
  /** Rows: reference class; columns: predicted class. */
  confusionMatrix: number[][];
  /** Reference cases per class. */
  support: number[];
  /** Predicted cases per class. */
  predictedCount: number[];
  aucPerClass: (number | null)[];
  aucMacro: number | null;
  aucWeighted: number | null;
  recallPerClass: number[];
  precisionPerClass: number[];
  f1PerClass: number[];
  recallMacro: number;
  recallWeighted: number;
  precisionMacro: number;
  precisionWeighted: number;
  f1Macro: number;
  f1Weighted: number;
  /** Present for two classes, with class 1 as the positive class. */
  binary?: BinaryMetrics;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function nullableRatio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function supportWeighted(values: readonly number[], support: readonly number[]): number {
  const total = support.reduce((sum, value) => sum + value, 0);
  if (total === 0) return 0;
  return values.reduce((sum, value, k) => sum + value * support[k], 0) / total;
}

/** Computes every metric of the data under the case weights (all 1 when omitted). */
export function computeMetrics(data: MetricData, weights?: ArrayLike<number>): MetricValues {
  const { classCount, labels, predictions } = data;
  const confusionMatrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < labels.length; i += 1) {
    const weight = weights === undefined ? 1 : weights[i];
    if (weight !== 0) confusionMatrix[labels[i]][predictions[i]] += weight;
  }

  const support = confusionMatrix.map((row) => row.reduce((sum, value) => sum + value, 0));
  const predictedCount = confusionMatrix[0].map((_, k) =>
    confusionMatrix.reduce((sum, row) => sum + row[k], 0),
  );
  const total = support.reduce((sum, value) => sum + value, 0);
  const correct = confusionMatrix.reduce((sum, row, k) => sum + row[k], 0);

  const recallPerClass = support.map((count, k) => ratio(confusionMatrix[k][k], count));
  const precisionPerClass = predictedCount.map((count, k) => ratio(confusionMatrix[k][k], count));
  const f1PerClass = support.map((count, k) => ratio(2 * confusionMatrix[k][k], count + predictedCount[k]));

  const aucPerClass = data.rocIndexes.map((index) => aucFromIndex(index, weights));
  const definedClasses = aucPerClass.flatMap((auc, k) => (auc === null ? [] : [k]));
  const aucMacro =
    definedClasses.length === 0 ? null : mean(definedClasses.map((k) => aucPerClass[k] as number));
  const definedSupport = definedClasses.reduce((sum, k) => sum + support[k], 0);
  const aucWeighted =
    definedClasses.length === 0 || definedSupport === 0
      ? null
      : definedClasses.reduce((sum, k) => sum + (aucPerClass[k] as number) * support[k], 0) / definedSupport;

  const values: MetricValues = {
    total,
    accuracy: ratio(correct, total),
    confusionMatrix,
    support,
    predictedCount,
    aucPerClass,
    aucMacro,
    aucWeighted,
    recallPerClass,
    precisionPerClass,
    f1PerClass,
    recallMacro: mean(recallPerClass),
    recallWeighted: supportWeighted(recallPerClass, support),
    precisionMacro: mean(precisionPerClass),
    precisionWeighted: supportWeighted(precisionPerClass, support),
    f1Macro: mean(f1PerClass),
    f1Weighted: supportWeighted(f1PerClass, support),
  };
  if (classCount === 2) {
    const [[trueNegative, falsePositive], [falseNegative, truePositive]] = confusionMatrix;
    values.binary = {
      sensitivity: nullableRatio(truePositive, truePositive + falseNegative),
      specificity: nullableRatio(trueNegative, trueNegative + falsePositive),
      ppv: nullableRatio(truePositive, truePositive + falsePositive),
      npv: nullableRatio(trueNegative, trueNegative + falseNegative),
    };
  }
  return values;
}

/** Lists the scalar metrics that get bootstrap confidence intervals, keyed by JSON path (`auc_per_class.HCC`). */
export function scalarMetrics(values: MetricValues, classes: readonly string[]): Map<string, number | null> {
  const scalars = new Map<string, number | null>([
    ['accuracy', values.accuracy],
    ['auc_macro', values.aucMacro],
    ['auc_weighted', values.aucWeighted],
    ['recall_macro', values.recallMacro],
    ['recall_weighted', values.recallWeighted],
    ['precision_macro', values.precisionMacro],
    ['precision_weighted', values.precisionWeighted],
    ['f1_macro', values.f1Macro],
    ['f1_weighted', values.f1Weighted],
  ]);
  classes.forEach((name, k) => {
    scalars.set(`auc_per_class.${name}`, values.aucPerClass[k]);
    scalars.set(`recall_per_class.${name}`, values.recallPerClass[k]);
    scalars.set(`precision_per_class.${name}`, values.precisionPerClass[k]);
    scalars.set(`f1_per_class.${name}`, values.f1PerClass[k]);
  });
  if (values.binary) {
    scalars.set('sensitivity', values.binary.sensitivity);
    scalars.set('specificity', values.binary.specificity);
    scalars.set('ppv', values.binary.ppv);
    scalars.set('npv', values.binary.npv);
  }
  return scalars;
}
