import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxIou, boxOverlapOfSmaller } from '../../src/detect/box.ts';
import { nonMaxSuppression } from '../../src/detect/nms.ts';
import {
  computeLetterbox,
  letterboxSlice,
  letterboxToSlice,
  resizeBilinear,
  sliceToLetterbox,
  LETTERBOX_FILL,
} from '../../src/detect/letterbox.ts';

const box = (x1: number, y1: number, x2: number, y2: number, score = 1, classId = 0) => ({
  x1,
  y1,
  x2,
  y2,
  score,
  classId,
});

test('IoU of known boxes', () => {
  assert.equal(boxIou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1);
  assert.equal(boxIou(box(0, 0, 10, 10), box(10, 0, 20, 10)), 0);
  assert.equal(boxIou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 50 / 150);
  assert.equal(boxOverlapOfSmaller(box(0, 0, 10, 10), box(2, 2, 4, 4)), 1);
});

test('NMS keeps the best of overlapping boxes', () => {
  const boxes = [
    box(0, 0, 10, 10, 0.6),
    box(1, 0, 11, 10, 0.9),
    box(50, 50, 60, 60, 0.7),
    box(5, 0, 15, 10, 0.5),
  ];
  const kept = nonMaxSuppression(boxes, { iouThreshold: 0.5 });
  // IoU(b1, b0) = 9/11 > 0.5 suppresses b0; IoU(b1, b3) = 6/14 < 0.5 keeps b3.
  assert.deepEqual(
    kept.map((b) => b.score),
    [0.9, 0.7, 0.5],
  );
});

test('NMS suppresses only above the threshold', () => {
  const a = box(0, 0, 10, 10, 0.9);
  const b = box(5, 0, 15, 10, 0.8); // IoU 1/3
  assert.equal(nonMaxSuppression([a, b], { iouThreshold: 1 / 3 }).length, 2);
  assert.equal(nonMaxSuppression([a, b], { iouThreshold: 0.3 }).length, 1);
});

test('NMS per class and box cap', () => {
  const boxes = [box(0, 0, 10, 10, 0.9, 0), box(0, 0, 10, 10, 0.8, 1), box(20, 20, 30, 30, 0.7, 0)];
  assert.equal(nonMaxSuppression(boxes, { iouThreshold: 0.5, perClass: true }).length, 3);
  assert.equal(nonMaxSuppression(boxes, { iouThreshold: 0.5, perClass: false }).length, 2);
  assert.equal(nonMaxSuppression(boxes, { iouThreshold: 0.5, perClass: true, maxBoxes: 1 }).length, 1);
});

test('letterbox of a wide slice pads top and bottom', () => {
  const letterbox = computeLetterbox(1024, 512, 512);
  assert.equal(letterbox.scale, 0.5);
  assert.equal(letterbox.scaledWidth, 512);
  assert.equal(letterbox.scaledHeight, 256);
  assert.equal(letterbox.padLeft, 0);
  assert.equal(letterbox.padTop, 128);
});

test('letterbox round trip restores slice boxes', () => {
  for (const [width, height, input] of [
    [512, 512, 256],
    [640, 480, 512],
    [300, 700, 512],
    [512, 512, 512],
  ]) {
    const letterbox = computeLetterbox(width, height, input);
    const original = box(10.5, 20.25, 100, 200.75);
    const back = letterboxToSlice(sliceToLetterbox(original, letterbox), letterbox);
    for (const key of ['x1', 'y1', 'x2', 'y2'] as const)
      assert.ok(Math.abs(back[key] - original[key]) < 1e-9, `${width}x${height}->${input} ${key}`);
  }
});

test('letterbox maps back clipped to the slice', () => {
  const letterbox = computeLetterbox(512, 256, 512);
  const mapped = letterboxToSlice(box(-5, 100, 600, 400), letterbox);
  assert.deepEqual([mapped.x1, mapped.y1, mapped.x2, mapped.y2], [0, 0, 512, 256]);
});

test('letterboxed slice places the image and fills the border', () => {
  const width = 8;
  const height = 4;
  const pixels = new Float32Array(width * height).fill(1);
  const { input, letterbox } = letterboxSlice(pixels, width, height, 8, 3);
  assert.equal(input.length, 3 * 64);
  assert.equal(letterbox.padTop, 2);
  assert.equal(input[0], Math.fround(LETTERBOX_FILL));
  assert.equal(input[2 * 8 + 3], 1);
  assert.equal(input[64 + 2 * 8 + 3], 1, 'second channel repeats the grey image');
  assert.equal(input[7 * 8 + 7], Math.fround(LETTERBOX_FILL));
});

test('bilinear resize keeps a linear ramp linear', () => {
  const width = 16;
  const pixels = new Float32Array(width * 2).map((_, index) => index % width);
  const half = resizeBilinear(pixels, width, 2, 8, 1);
  // Pixel k of the half-size image covers source pixels 2k and 2k+1, whose mean is 2k + 0.5.
  half.forEach((value, index) =>
    assert.ok(Math.abs(value - (2 * index + 0.5)) < 1e-6, `pixel ${index}: ${value}`),
  );
  const doubled = resizeBilinear(new Float32Array([0, 1]), 2, 1, 4, 1);
  assert.deepEqual([...doubled], [0, 0.25, 0.75, 1]);
});
