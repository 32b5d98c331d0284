import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cropSquare } from '../../src/data/synth/generate.ts';
import { cropRegion, extractRegion, CROP_MARGIN_FRACTION } from '../../src/diagnose/crop.ts';

test('crop region matches synth training crops', () => {
  // Diagnosis crops must be cut as the training crops were, or the classifiers see a different input.
  const boxes = [
    { x1: 100, y1: 120, x2: 140, y2: 150 },
    { x1: 10.4, y1: 3.2, x2: 30.9, y2: 40.1 },
    { x1: 480, y1: 490, x2: 511, y2: 512 },
    { x1: 250, y1: 250, x2: 252, y2: 253 },
    { x1: 0, y1: 0, x2: 400, y2: 500 },
  ];
  for (const box of boxes) {
    const region = cropRegion(box, 512, 512);
    const [x0, y0, side] = cropSquare(
      { slice: 0, x0: box.x1, y0: box.y1, x1: box.x2, y1: box.y2 },
      512,
      CROP_MARGIN_FRACTION,
    );
    assert.deepEqual(region, { x1: x0, y1: y0, x2: x0 + side, y2: y0 + side }, `box ${JSON.stringify(box)}`);
  }
});

test('crop region stays inside non-square slice', () => {
  const region = cropRegion({ x1: 0, y1: 90, x2: 60, y2: 100 }, 200, 100);
  assert.equal(region.x2 - region.x1, 90);
  assert.equal(region.y2 - region.y1, 90);
  assert.equal(region.x1, 0);
  assert.equal(region.y2, 100);
});

test('extractRegion copies rows', () => {
  const slice = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual(Array.from(extractRegion(slice, 4, 4, { x1: 1, y1: 2, x2: 3, y2: 4 })), [9, 10, 13, 14]);
  assert.throws(() => extractRegion(slice, 4, 4, { x1: 0.5, y1: 0, x2: 2, y2: 2 }), /whole-pixel/);
});
