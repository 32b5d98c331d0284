import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../src/eval/csv.ts';
import {
  evaluatePredictions,
  type EvaluateOptions,
  type EvaluationReport,
  type Interval,
} from '../../src/eval/evaluate.ts';
import { predictionsFromTable } from '../../src/eval/predictions.ts';
import { SeededRandom } from '../../src/eval/random.ts';
import { aucFromIndex, buildRocIndex, rocAuc } from '../../src/eval/roc.ts';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers/shared.ts';

const fixtureText = (name: string): string =>
  readFileSync(sharedPath('fixtures', 'paper-source-data', name), 'utf8');

function shuffledCsv(text: string, seed: number): string {
  const [header, ...rows] = text.trimEnd().split('\n');
  const random = new SeededRandom(seed);
  for (let i = rows.length - 1; i > 0; i -= 1) {
    const j = random.nextInt(i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return [header, ...rows].join('\n');
}

const SCALAR_FIELDS = [
  'accuracy',
  'auc_macro',
  'auc_weighted',
  'recall_macro',
  'recall_weighted',
  'precision_macro',
  'precision_weighted',
  'f1_macro',
  'f1_weighted',
] as const;

function evaluateText(text: string, options: EvaluateOptions): EvaluationReport {
  return evaluatePredictions(predictionsFromTable(parseCsv(text, 'fixture.csv')), options);
}

test('metrics invariant to patient order', () => {
  for (const file of ['figure2--figure-2b-2e-resnet50.csv', 'figure2--figure-2c-2f-lilnet.csv']) {
    const text = fixtureText(file);
    const options: EvaluateOptions = { aucScore: 'logits', labelSource: 'recorded' };
    const original = evaluateText(text, options);
    const shuffled = evaluateText(shuffledCsv(text, 11), options);
    for (const field of SCALAR_FIELDS) {
      assert.ok(
        Math.abs((original[field] as number) - (shuffled[field] as number)) < 1e-12,
        `${file} ${field}`,
      );
    }
    assert.deepEqual(shuffled.confusion_matrix, original.confusion_matrix, `${file} confusion matrix`);
    assert.deepEqual(shuffled.roc_curves, original.roc_curves, `${file} ROC curves`);
    assert.deepEqual(shuffled.youden, original.youden, `${file} Youden points`);
    assert.equal(shuffled.warnings.length, original.warnings.length, `${file} warnings`);
  }
});

test('AUC is 1 for separated scores', () => {
  assert.equal(rocAuc([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.7, 0.3, 0.2, 0.1], [0, 0, 0, 1, 1, 1]), 0);
});

test('AUC is 0.5 for uninformative scores', () => {
  assert.equal(rocAuc([5, 5, 5, 5], [0, 1, 0, 1]), 0.5);
  // Every score appears once among positives and once among negatives.
  const scores = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5];
  const positive = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
  assert.equal(rocAuc(scores, positive), 0.5);
});

test('AUC is undefined without negatives', () => {
  assert.equal(rocAuc([0.1, 0.5], [1, 1]), null);
  assert.equal(rocAuc([0.1, 0.5], [0, 0]), null);
});

test('weighted AUC equals AUC of repeated cases', () => {
  const scores = [0.3, 0.1, 0.8, 0.8, 0.4, 0.6, 0.2];
  const positive = [1, 0, 1, 0, 0, 1, 1];
  const weights = [2, 0, 3, 1, 1, 2, 1];
  const repeatedScores: number[] = [];
  const repeatedPositive: number[] = [];
  weights.forEach((weight, i) => {
    for (let copy = 0; copy < weight; copy += 1) {
      repeatedScores.push(scores[i]);
      repeatedPositive.push(positive[i]);
    }
  });
  const weighted = aucFromIndex(buildRocIndex(scores, positive), weights) as number;
  assert.ok(Math.abs(weighted - (rocAuc(repeatedScores, repeatedPositive) as number)) < 1e-15);
});

function flattenIntervals(ci95: EvaluationReport['ci95']): Map<string, Interval | null> {
  const flat = new Map<string, Interval | null>();
  for (const [name, value] of Object.entries(ci95 ?? {})) {
    if (value === null || Array.isArray(value)) flat.set(name, value as Interval | null);
    else
      for (const [className, interval] of Object.entries(value)) flat.set(`${name}.${className}`, interval);
  }
  return flat;
}

function pointEstimate(report: EvaluationReport, name: string): number | null | undefined {
  const [field, className] = name.split('.');
  const value = (report as unknown as Record<string, unknown>)[field];
  if (className === undefined) return value as number | null;
  return (value as Record<string, number | null>)[className];
}

test('bootstrap CI covers every point estimate', () => {
  for (const file of ['figure2--figure-2b-2e-lilnet.csv', 'figure2--figure-2d-2g-resnet50-pretrained.csv']) {
    const report = evaluateText(fixtureText(file), {
      aucScore: 'probabilities',
      labelSource: 'argmax',
      bootstrap: { resamples: 400, seed: 3 },
    });
    const intervals = flattenIntervals(report.ci95);
    assert.ok(intervals.size >= 9 + 4 * report.classes.length, `${file}: ${intervals.size} intervals`);
    for (const [name, interval] of intervals) {
      const estimate = pointEstimate(report, name);
      assert.ok(interval !== null, `${file} ${name}: no interval`);
      assert.equal(typeof estimate, 'number', `${file} ${name}: estimate ${estimate}`);
      const value = estimate as number;
      assert.ok(interval[0] <= value, `${file} ${name}: ${value} below [${interval}]`);
      assert.ok(value <= interval[1], `${file} ${name}: ${value} above [${interval}]`);
      assert.ok(interval[0] < interval[1], `${file} ${name}: empty interval [${interval}]`);
    }
  }
});

test('bootstrap is reproducible from its seed', () => {
  const text = fixtureText('figure2--figure-2d-2g-lilnet.csv');
  const run = (seed: number): EvaluationReport['ci95'] =>
    evaluateText(text, { aucScore: 'logits', labelSource: 'argmax', bootstrap: { resamples: 200, seed } })
      .ci95;
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
});

test('seeded generator draws each value evenly', () => {
  const random = new SeededRandom(123);
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < 60000; i += 1) counts[random.nextInt(6)] += 1;
  for (const count of counts) assert.ok(Math.abs(count - 10000) < 400, `count ${count}`);
});
