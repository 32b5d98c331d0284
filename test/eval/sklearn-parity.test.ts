import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluatePredictions,
  type AucScore,
  type EvaluationReport,
  type LabelSource,
} from '../../src/eval/evaluate.ts';
import { readPredictions } from '../../src/eval/predictions.ts';
import { sharedPath } from '../helpers/shared.ts';
import { runPythonOracle } from './oracle.ts';

const FILES = [
  'figure2--figure-2b-2e-lilnet.csv',
  'figure2--figure-2b-2e-resnet50.csv',
  'figure2--figure-2b-2e-resnet50-pretrained.csv',
  'figure2--figure-2c-2f-lilnet.csv',
  'figure2--figure-2c-2f-resnet.csv',
  'figure2--figure-2c-2f-resnet-pretrained.csv',
  'figure2--figure-2d-2g-lilnet.csv',
  'figure2--figure-2d-2g-resnet50.csv',
  'figure2--figure-2d-2g-resnet50-pretrained.csv',
];
const TOLERANCE = 1e-9;

interface OracleResult {
  accuracy: number;
  auc_per_class: number[];
  auc_macro: number;
  auc_weighted: number;
  auc_binary?: number;
  auc_ovr_macro?: number;
  auc_ovr_weighted?: number;
  confusion_matrix: number[][];
  roc_curves: { fpr: number[]; tpr: number[]; thresholds: number[] }[];
  youden: { threshold: number; sensitivity: number; specificity: number }[];
  recall_macro: number;
  recall_weighted: number;
  precision_macro: number;
  precision_weighted: number;
  f1_macro: number;
  f1_weighted: number;
  recall_per_class: number[];
  precision_per_class: number[];
  f1_per_class: number[];
  sensitivity?: number;
  specificity?: number;
  ppv?: number;
  npv?: number;
}

interface Case {
  file: string;
  aucScore: AucScore;
  labelSource: LabelSource;
}

const CASES: Case[] = FILES.flatMap((file) =>
  (['logits', 'probabilities'] as AucScore[]).flatMap((aucScore) =>
    (['argmax', 'recorded'] as LabelSource[]).map((labelSource) => ({ file, aucScore, labelSource })),
  ),
);

function close(actual: number | null | undefined, expected: number, description: string): void {
  assert.ok(typeof actual === 'number', `${description}: expected a number, got ${actual}`);
  assert.ok(
    Math.abs(actual - expected) <= TOLERANCE,
    `${description}: lilnet ${actual}, scikit-learn ${expected}`,
  );
}

function checkCase(report: EvaluationReport, oracle: OracleResult, name: string): void {
  const classes = report.classes;
  close(report.accuracy, oracle.accuracy, `${name} accuracy`);
  close(report.auc_macro, oracle.auc_macro, `${name} auc_macro`);
  close(report.auc_weighted, oracle.auc_weighted, `${name} auc_weighted`);
  for (const metric of ['recall', 'precision', 'f1'] as const) {
    close(report[`${metric}_macro`], oracle[`${metric}_macro`], `${name} ${metric}_macro`);
    close(report[`${metric}_weighted`], oracle[`${metric}_weighted`], `${name} ${metric}_weighted`);
  }
  classes.forEach((className, k) => {
    close(report.auc_per_class[className], oracle.auc_per_class[k], `${name} auc ${className}`);
    close(report.recall_per_class[className], oracle.recall_per_class[k], `${name} recall ${className}`);
    close(
      report.precision_per_class[className],
      oracle.precision_per_class[k],
      `${name} precision ${className}`,
    );
    close(report.f1_per_class[className], oracle.f1_per_class[k], `${name} f1 ${className}`);

    const curve = report.roc_curves[className];
    const expected = oracle.roc_curves[k];
    assert.equal(curve.length, expected.fpr.length, `${name} ROC points of ${className}`);
    curve.forEach((point, index) => {
      close(point.fpr, expected.fpr[index], `${name} ${className} ROC fpr[${index}]`);
      close(point.tpr, expected.tpr[index], `${name} ${className} ROC tpr[${index}]`);
      if (index > 0)
        close(point.threshold, expected.thresholds[index - 1], `${name} ${className} threshold[${index}]`);
    });
    const youden = report.youden[className];
    assert.ok(youden !== null, `${name} Youden point of ${className}`);
    close(youden.threshold, oracle.youden[k].threshold, `${name} ${className} Youden threshold`);
    close(youden.sensitivity, oracle.youden[k].sensitivity, `${name} ${className} Youden sensitivity`);
    close(youden.specificity, oracle.youden[k].specificity, `${name} ${className} Youden specificity`);
  });
  assert.deepEqual(report.confusion_matrix, oracle.confusion_matrix, `${name} confusion matrix`);
  if (oracle.auc_binary !== undefined) close(report.auc_macro, oracle.auc_binary, `${name} binary AUC`);
  if (oracle.auc_ovr_macro !== undefined)
    close(report.auc_macro, oracle.auc_ovr_macro, `${name} sklearn ovr macro`);
  if (oracle.auc_ovr_weighted !== undefined)
    close(report.auc_weighted, oracle.auc_ovr_weighted, `${name} sklearn ovr weighted`);
  if (classes.length === 2) {
    close(report.sensitivity, oracle.sensitivity as number, `${name} sensitivity`);
    close(report.specificity, oracle.specificity as number, `${name} specificity`);
    close(report.ppv, oracle.ppv as number, `${name} ppv`);
    close(report.npv, oracle.npv as number, `${name} npv`);
  }
}

/** Fails on any NaN or infinity inside a report, which JSON.stringify would silently turn into null. */
function assertAllFinite(value: unknown, path: string): void {
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${path} is ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertAllFinite(item, `${path}[${index}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) assertAllFinite(item, `${path}.${key}`);
  }
}

test('metrics equal scikit-learn on all nine files', () => {
  const paths = new Map(FILES.map((file) => [file, sharedPath('fixtures', 'paper-source-data', file)]));
  const oracle = runPythonOracle<OracleResult[]>('sklearn_oracle.py', {
    files: CASES.map((item) => ({
      path: paths.get(item.file),
      auc_score: item.aucScore,
      label_source: item.labelSource,
    })),
  });
  assert.equal(oracle.length, CASES.length);
  CASES.forEach((item, index) => {
    const set = readPredictions(paths.get(item.file) as string);
    const report = evaluatePredictions(set, { aucScore: item.aucScore, labelSource: item.labelSource });
    checkCase(report, oracle[index], `${item.file} (${item.aucScore}, ${item.labelSource})`);
    assertAllFinite(report, `${item.file} (${item.aucScore}, ${item.labelSource})`);
  });
});
