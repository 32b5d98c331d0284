import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportOnnx } from '../../src/backends/onnx/export.ts';
import { OnnxInferenceSession } from '../../src/backends/onnx/session.ts';
import { lilnetCam, resnetCam, variantMask } from '../../src/diagnose/cam-head.ts';

/** Deterministic pseudo-random values in [-1, 1). */
function randomArray(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

const BATCH = 2;
const CHANNELS = 8;
const HIDDEN = 6;
const CLASSES = 3;
const SIDE = 7;

const features = randomArray(BATCH * CHANNELS * SIDE * SIDE, 1);
const ensWeight = randomArray(HIDDEN * CHANNELS, 2);
const fcWeight = randomArray(5 * CLASSES * HIDDEN, 3);

/** The layer-4 part of LiLNet's aggregated logits, computed directly from the definition (no bias terms). */
function aggregatedLayer4(n: number, c: number): number {
  let total = 0;
  for (let v = 0; v < 5; v++) {
    const mask = variantMask(v, SIDE);
    const pooled = new Float64Array(CHANNELS);
    for (let ch = 0; ch < CHANNELS; ch++) {
      for (let p = 0; p < SIDE * SIDE; p++)
        pooled[ch] += features[(n * CHANNELS + ch) * SIDE * SIDE + p] * mask[p];
      pooled[ch] /= SIDE * SIDE;
    }
    const hidden = new Float64Array(HIDDEN);
    for (let h = 0; h < HIDDEN; h++)
      for (let ch = 0; ch < CHANNELS; ch++) hidden[h] += ensWeight[h * CHANNELS + ch] * pooled[ch];
    const column = 5 * c + v;
    let logit = 0;
    for (let h = 0; h < HIDDEN; h++) logit += fcWeight[column * HIDDEN + h] * hidden[h];
    total += logit;
  }
  return total / 10;
}

test('variant masks zero one quadrant', () => {
  assert.equal(
    variantMask(0, 7).reduce((a, b) => a + b, 0),
    49,
  );
  // Blocks of 3x3, 3x4, 4x3 and 4x4 for S = 7.
  assert.deepEqual(
    [1, 2, 3, 4].map((v) => 49 - variantMask(v, 7).reduce((a, b) => a + b, 0)),
    [9, 12, 12, 16],
  );
  assert.equal(variantMask(1, 7)[0], 0);
  assert.equal(variantMask(2, 7)[6], 0);
  assert.equal(variantMask(3, 7)[6 * 7], 0);
  assert.equal(variantMask(4, 7)[48], 0);
});

test('LiLNet CAM sums to aggregated layer-4 logit', async () => {
  const parameters = (name: string) => {
    if (name === 'fc_ens.weight') return { data: ensWeight, shape: [HIDDEN, CHANNELS] };
    if (name === 'fc.weight') return { data: fcWeight, shape: [5 * CLASSES, HIDDEN] };
    throw new Error(`unexpected parameter ${name}`);
  };
  const exported = exportOnnx({
    inputs: [{ name: 'layer4', shape: [BATCH, CHANNELS, SIDE, SIDE] }],
    forward: (ops, [layer4], lookup) => ({ cam: lilnetCam(ops, layer4, lookup) }),
    outputs: ['cam'],
    parameters,
    graphName: 'cam-test',
  });
  const session = await OnnxInferenceSession.create(exported.bytes);
  const { cam } = await session.run({ layer4: { data: features, shape: [BATCH, CHANNELS, SIDE, SIDE] } });
  assert.deepEqual(cam.shape, [BATCH, CLASSES, SIDE, SIDE]);
  for (let n = 0; n < BATCH; n++) {
    for (let c = 0; c < CLASSES; c++) {
      const offset = (n * CLASSES + c) * SIDE * SIDE;
      const sum = cam.data.subarray(offset, offset + SIDE * SIDE).reduce((a, b) => a + b, 0);
      const expected = aggregatedLayer4(n, c);
      assert.ok(
        Math.abs(sum - expected) < 1e-5,
        `image ${n} class ${c}: CAM sum ${sum}, aggregated logit ${expected}`,
      );
    }
  }
});

test('ResNet CAM sums to pooled logit', async () => {
  const weight = randomArray(CLASSES * CHANNELS, 4);
  const exported = exportOnnx({
    inputs: [{ name: 'layer4', shape: [BATCH, CHANNELS, SIDE, SIDE] }],
    forward: (ops, [layer4], lookup) => ({ cam: resnetCam(ops, layer4, lookup) }),
    outputs: ['cam'],
    parameters: () => ({ data: weight, shape: [CLASSES, CHANNELS] }),
    graphName: 'resnet-cam-test',
  });
  const session = await OnnxInferenceSession.create(exported.bytes);
  const { cam } = await session.run({ layer4: { data: features, shape: [BATCH, CHANNELS, SIDE, SIDE] } });
  for (let c = 0; c < CLASSES; c++) {
    let expected = 0;
    for (let ch = 0; ch < CHANNELS; ch++) {
      let mean = 0;
      for (let p = 0; p < SIDE * SIDE; p++) mean += features[ch * SIDE * SIDE + p] / (SIDE * SIDE);
      expected += weight[c * CHANNELS + ch] * mean;
    }
    const sum = cam.data.subarray(c * SIDE * SIDE, (c + 1) * SIDE * SIDE).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - expected) < 1e-5, `class ${c}: CAM sum ${sum}, logit ${expected}`);
  }
});
