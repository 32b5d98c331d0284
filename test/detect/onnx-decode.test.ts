import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx } from '../../src/backends/onnx/export.ts';
import { BOX_HEIGHT, BOX_WIDTH, INPUT_SIZE, pixelAnchorModel } from './pixel-anchor-model.ts';
import { detectOnSlices, openDetector } from '../../src/detect/detector-session.ts';

test('planted boxes decode from an ONNX model', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'lilnet-onnx-decode-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const modelPath = join(folder, 'pixel-anchor.onnx');
  writeFileSync(modelPath, pixelAnchorModel());

  // A 128 x 96 slice letterboxes into 64 x 48 at scale 0.5 with 8 rows of padding on top. Each planted 2 x 2
  // block at even coordinates becomes exactly one input pixel of the same value.
  const width = 128;
  const height = 96;
  const pixels = new Float32Array(width * height);
  const plant = (x: number, y: number, value: number): void => {
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ])
      pixels[(y + dy) * width + x + dx] = value;
  };
  plant(40, 30, 0.9);
  plant(100, 70, 0.7);
  // Two neighbouring pixels: their boxes overlap with IoU 11/13, so NMS keeps only the brighter.
  plant(80, 20, 0.85);
  plant(82, 20, 0.8);
  // Below the confidence threshold.
  plant(10, 80, 0.4);

  const detector = await openDetector(modelPath);
  t.after(() => detector.release());
  assert.equal(detector.inputSize, INPUT_SIZE);
  assert.equal(detector.channels, 3);
  const [boxes] = await detectOnSlices(detector, [{ width, height, pixels }], {
    confidenceThreshold: 0.5,
    nmsIouThreshold: 0.5,
  });

  // The letterbox border (grey 114/255 = 0.447) stays below the threshold of 0.5.
  assert.equal(boxes.length, 3, JSON.stringify(boxes));
  const expected = [
    { centreX: 41, centreY: 31, score: 0.9 },
    { centreX: 81, centreY: 21, score: 0.85 },
    { centreX: 101, centreY: 71, score: 0.7 },
  ];
  expected.forEach((planted, index) => {
    const box = boxes[index];
    assert.ok(Math.abs(box.score - planted.score) < 1e-6, `box ${index} score ${box.score}`);
    assert.ok(Math.abs(box.x1 - (planted.centreX - BOX_WIDTH)) < 1e-4, `box ${index} x1 ${box.x1}`);
    assert.ok(Math.abs(box.x2 - (planted.centreX + BOX_WIDTH)) < 1e-4, `box ${index} x2 ${box.x2}`);
    assert.ok(Math.abs(box.y1 - (planted.centreY - BOX_HEIGHT)) < 1e-4, `box ${index} y1 ${box.y1}`);
    assert.ok(Math.abs(box.y2 - (planted.centreY + BOX_HEIGHT)) < 1e-4, `box ${index} y2 ${box.y2}`);
  });
});

test('detector with a wrong output is rejected', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'lilnet-onnx-decode-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const modelPath = join(folder, 'pooled.onnx');
  const bytes = exportOnnx({
    graphName: 'pooled',
    inputs: [{ name: 'images', shape: [1, 3, 32, 32] }],
    forward: (ops, [images]) => ({ output0: ops.globalAvgPool2d(images) }),
    outputs: ['output0'],
    parameters: () => {
      throw new Error('no parameters');
    },
  }).bytes;
  writeFileSync(modelPath, bytes);
  const detector = await openDetector(modelPath);
  t.after(() => detector.release());
  await assert.rejects(
    detectOnSlices(detector, [{ width: 32, height: 32, pixels: new Float32Array(1024) }]),
    /DETECTOR_MODEL_INVALID|not \[batch, 4 \+ classes, anchors\]/,
  );
});

test('missing default detector explains how to get one', async () => {
  await assert.rejects(openDetector(join(tmpdir(), 'no-such-detector.onnx')), /not found/);
});
