import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateDetections,
  matchImage,
  precisionRecallCurve,
  type EvaluationImage,
} from '../../src/detect/evaluate.ts';

const truth = (x1: number, y1: number, x2: number, y2: number, lesionType?: string) =>
  lesionType ? { x1, y1, x2, y2, lesionType } : { x1, y1, x2, y2 };
const pred = (x1: number, y1: number, x2: number, y2: number, score: number) => ({ x1, y1, x2, y2, score });

test('matching takes each truth box once, best score first', () => {
  const truths = [truth(0, 0, 10, 10)];
  const preds = [pred(0, 0, 10, 10, 0.5), pred(1, 0, 11, 10, 0.9)];
  assert.deepEqual(matchImage(truths, preds, 0.5), [-1, 0]);
});

test('matching chooses the unmatched truth of highest IoU', () => {
  const truths = [truth(0, 0, 10, 10), truth(2, 0, 12, 10)];
  const preds = [pred(2, 0, 12, 10, 0.9), pred(0, 0, 10, 10, 0.8)];
  assert.deepEqual(matchImage(truths, preds, 0.3), [1, 0]);
});

test('IoU threshold decides true positives', () => {
  // IoU of the prediction with the truth: 50 / 150 = 1/3.
  const images: EvaluationImage[] = [
    { name: 'a', truth: [truth(0, 0, 10, 10)], predictions: [pred(5, 0, 15, 10, 0.9)] },
  ];
  const result = evaluateDetections(images, { iouThresholds: [0.1, 0.3, 0.5] });
  assert.deepEqual(
    result.thresholds.map((t) => t.truePositives),
    [1, 1, 0],
  );
  assert.deepEqual(
    result.thresholds.map((t) => t.falsePositives),
    [0, 0, 1],
  );
  assert.deepEqual(
    result.thresholds.map((t) => t.falseNegatives),
    [0, 0, 1],
  );
  assert.equal(result.thresholds[2].precision, 0);
  assert.equal(result.thresholds[2].f1, 0);
});

test('precision recall and F1 on a constructed set', () => {
  const images: EvaluationImage[] = [
    {
      name: 'a',
      truth: [truth(0, 0, 10, 10), truth(20, 20, 30, 30)],
      predictions: [pred(0, 0, 10, 10, 0.9), pred(50, 50, 60, 60, 0.8)],
    },
    { name: 'b', truth: [truth(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.7)] },
    { name: 'c', truth: [], predictions: [pred(0, 0, 5, 5, 0.2)] },
  ];
  const [atHalf] = evaluateDetections(images, { iouThresholds: [0.5] }).thresholds;
  assert.equal(atHalf.truePositives, 2);
  assert.equal(atHalf.falsePositives, 2);
  assert.equal(atHalf.falseNegatives, 1);
  assert.equal(atHalf.precision, 0.5);
  assert.equal(atHalf.recall, 2 / 3);
  assert.ok(Math.abs(atHalf.f1! - 4 / 7) < 1e-12);

  const confident = evaluateDetections(images, { iouThresholds: [0.5], confidenceThreshold: 0.5 });
  assert.equal(confident.thresholds[0].falsePositives, 1);
  assert.equal(confident.predictionCount, 3);
});

test('metrics per lesion type', () => {
  const images: EvaluationImage[] = [
    {
      name: 'a',
      truth: [truth(0, 0, 10, 10, 'HCC'), truth(20, 20, 30, 30, 'CYST')],
      predictions: [pred(0, 0, 10, 10, 0.9), pred(20, 20, 30, 30, 0.8), pred(80, 80, 90, 90, 0.4)],
    },
    { name: 'b', truth: [truth(0, 0, 10, 10, 'HCC')], predictions: [] },
  ];
  const { byLesionType } = evaluateDetections(images, { iouThresholds: [0.3] }).thresholds[0];
  assert.deepEqual(Object.keys(byLesionType), ['CYST', 'HCC']);
  assert.equal(byLesionType.HCC.truePositives, 1);
  assert.equal(byLesionType.HCC.falseNegatives, 1);
  assert.equal(byLesionType.HCC.falsePositives, 1);
  assert.equal(byLesionType.HCC.recall, 0.5);
  assert.equal(byLesionType.CYST.recall, 1);
  assert.equal(byLesionType.CYST.precision, 0.5);
});

test('average precision by all-point interpolation', () => {
  // Scores in order: TP, FP, TP over 2 truths: precision 1, 0.5, 2/3 at recall 0.5, 0.5, 1.
  const images: EvaluationImage[] = [
    {
      name: 'a',
      truth: [truth(0, 0, 10, 10), truth(20, 20, 30, 30)],
      predictions: [pred(0, 0, 10, 10, 0.9), pred(50, 50, 60, 60, 0.8), pred(20, 20, 30, 30, 0.7)],
    },
  ];
  const { curve, averagePrecision } = precisionRecallCurve(images, 0.5);
  assert.deepEqual(
    curve.map((point) => point.recall),
    [0.5, 0.5, 1],
  );
  // Envelope: 1 on (0, 0.5], 2/3 on (0.5, 1].
  assert.ok(Math.abs(averagePrecision! - (0.5 + 1 / 3)) < 1e-12);
  assert.equal(precisionRecallCurve([{ name: 'x', truth: [], predictions: [] }], 0.5).averagePrecision, null);
});
