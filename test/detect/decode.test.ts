import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeYoloOutput } from '../../src/detect/decode.ts';

/** Builds a [1, 4 + classes, anchors] output with the given anchors set and every other score 0. */
function output(
  anchors: number,
  classes: number,
  planted: { anchor: number; cx: number; cy: number; w: number; h: number; scores: number[] }[],
) {
  const rows = 4 + classes;
  const data = new Float32Array(rows * anchors);
  for (const p of planted) {
    data[p.anchor] = p.cx;
    data[anchors + p.anchor] = p.cy;
    data[2 * anchors + p.anchor] = p.w;
    data[3 * anchors + p.anchor] = p.h;
    p.scores.forEach((score, classId) => (data[(4 + classId) * anchors + p.anchor] = score));
  }
  return { data, dims: [1, rows, anchors] };
}

test('decoding returns planted boxes above threshold', () => {
  const { data, dims } = output(100, 1, [
    { anchor: 3, cx: 100, cy: 50, w: 20, h: 10, scores: [0.9] },
    { anchor: 70, cx: 300, cy: 300, w: 40, h: 40, scores: [0.3] },
    { anchor: 71, cx: 10, cy: 10, w: 4, h: 4, scores: [0.2] },
  ]);
  const boxes = decodeYoloOutput(data, dims);
  assert.equal(boxes.length, 2);
  assert.deepEqual(boxes[0], { x1: 90, y1: 45, x2: 110, y2: 55, score: boxes[0].score, classId: 0 });
  assert.ok(Math.abs(boxes[0].score - 0.9) < 1e-6);
  assert.equal(boxes[1].x1, 280);
});

test('decoding applies NMS to duplicate anchors', () => {
  const { data, dims } = output(10, 1, [
    { anchor: 0, cx: 100, cy: 100, w: 20, h: 20, scores: [0.8] },
    { anchor: 1, cx: 101, cy: 100, w: 20, h: 20, scores: [0.7] },
    { anchor: 2, cx: 200, cy: 100, w: 20, h: 20, scores: [0.6] },
  ]);
  assert.equal(decodeYoloOutput(data, dims).length, 2);
  assert.equal(decodeYoloOutput(data, dims, { nmsIouThreshold: 0.95 }).length, 3);
  assert.equal(decodeYoloOutput(data, dims, { confidenceThreshold: 0.75 }).length, 1);
});

test('decoding picks the best class', () => {
  const { data, dims } = output(5, 3, [{ anchor: 4, cx: 50, cy: 50, w: 10, h: 10, scores: [0.1, 0.6, 0.4] }]);
  const boxes = decodeYoloOutput(data, dims);
  assert.equal(boxes.length, 1);
  assert.equal(boxes[0].classId, 1);
});

test('decoding rejects a wrong layout', () => {
  assert.throws(() => decodeYoloOutput(new Float32Array(12), [1, 3, 4]), /4 \+ classes/);
  assert.throws(() => decodeYoloOutput(new Float32Array(11), [1, 5, 2]), /needs 10/);
});
