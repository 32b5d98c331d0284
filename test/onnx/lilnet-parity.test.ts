import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readPytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { lilnetConfig } from '../../src/nn/lilnet.ts';
import {
  LILNET_OUTPUT_NAMES,
  exportLilnetOnnx,
  stateDictParameters,
} from '../../src/backends/onnx/export-model.ts';
import { OnnxInferenceSession, type FloatTensor } from '../../src/backends/onnx/session.ts';
import type { ParameterSource } from '../../src/backends/onnx/export.ts';
import { sharedPath } from '../helpers/shared.ts';

// The reference: a K = 3 LiLNet checkpoint in the authors' format and the outputs that the authors' PyTorch
// code computes from six prepared crops. Every output must agree within 1e-4.
const TOLERANCE = 1e-4;
const IMAGE_VALUES = 3 * 224 * 224;

let dir: string;
let parameters: ParameterSource;
let expected: Record<string, number[][]>;
let images: Float32Array;
let session: OnnxInferenceSession;
let modelBytes: Uint8Array;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-onnx-parity-'));
  const checkpointPath = join(dir, 'malignant-reference.pth.tar');
  const reference = (...parts: string[]) => sharedPath('fixtures', 'lilnet-reference', ...parts);
  writeFileSync(checkpointPath, gunzipSync(readFileSync(reference('malignant-reference.pth.tar.gz'))));
  const checkpoint = await readPytorchCheckpoint(checkpointPath);
  parameters = stateDictParameters(checkpoint.stateDict);
  expected = JSON.parse(readFileSync(reference('expected-outputs.json'), 'utf8')) as Record<
    string,
    number[][]
  >;
  const raw = readFileSync(reference('inputs-nchw-float32.bin'));
  images = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  modelBytes = exportLilnetOnnx(lilnetConfig(3), { parameters }).bytes;
  session = await OnnxInferenceSession.create(modelBytes);
});

after(async () => {
  await session?.release();
  rmSync(dir, { recursive: true, force: true });
});

function maxDifference(actual: FloatTensor, rows: number[][]): number {
  const columns = rows[0].length;
  assert.deepEqual(actual.shape, [rows.length, columns]);
  let worst = 0;
  rows.forEach((row, r) =>
    row.forEach((v, c) => (worst = Math.max(worst, Math.abs(actual.data[r * columns + c] - v)))),
  );
  return worst;
}

test('onnx lilnet matches reference outputs', async () => {
  assert.equal(images.length, 6 * IMAGE_VALUES);
  const outputs = await session.run({ images: { data: images, shape: [6, 3, 224, 224] } });
  for (const name of LILNET_OUTPUT_NAMES) {
    const difference = maxDifference(outputs[name], expected[name]);
    assert.ok(difference <= TOLERANCE, `${name}: max abs difference ${difference}`);
  }
});

test('onnx lilnet batch of one', async () => {
  const outputs = await session.run({
    images: { data: images.slice(2 * IMAGE_VALUES, 3 * IMAGE_VALUES), shape: [1, 3, 224, 224] },
  });
  assert.ok(maxDifference(outputs.aggregated_logits, [expected.aggregated_logits[2]]) <= TOLERANCE);
  assert.ok(
    maxDifference(outputs.layer3_joint_logits, expected.layer3_joint_logits.slice(10, 15)) <= TOLERANCE,
  );
});

test('onnx lilnet graph interface', () => {
  assert.deepEqual(session.inputNames, ['images']);
  assert.deepEqual(session.outputNames, [...LILNET_OUTPUT_NAMES]);
});

test('feature outputs add no trunk nodes', async () => {
  const plain = exportLilnetOnnx(lilnetConfig(3), { parameters, outputs: ['aggregated_logits'] });
  const withFeatures = exportLilnetOnnx(lilnetConfig(3), {
    parameters,
    outputs: ['aggregated_logits'],
    featureOutputs: ['layer4_features', 'layer3_features'],
    customOutputs: { layer4_channel_mean: ({ ops, layer4Features }) => ops.mean(layer4Features, [1]) },
  });
  assert.deepEqual(
    withFeatures.outputs.map((o) => [o.name, o.dims]),
    [
      ['aggregated_logits', ['batch', 3]],
      ['layer4_features', ['batch', 2048, 7, 7]],
      ['layer3_features', ['batch', 1024, 14, 14]],
      ['layer4_channel_mean', ['batch', 7, 7]],
    ],
  );
  // Same weights: the extra outputs reuse the recorded trunk instead of recording a second copy.
  assert.ok(withFeatures.bytes.byteLength - plain.bytes.byteLength < 4096, 'no duplicated initializers');

  const extra = await OnnxInferenceSession.create(withFeatures.bytes);
  const out = await extra.run({
    images: { data: images.slice(0, 2 * IMAGE_VALUES), shape: [2, 3, 224, 224] },
  });
  await extra.release();
  assert.deepEqual(out.layer4_features.shape, [2, 2048, 7, 7]);
  assert.ok(maxDifference(out.aggregated_logits, expected.aggregated_logits.slice(0, 2)) <= TOLERANCE);
  // layer4 ends in a ReLU.
  assert.ok(out.layer4_features.data.every((v) => v >= 0));
  let mean = 0;
  for (let c = 0; c < 2048; c++) mean += out.layer4_features.data[c * 49] / 2048;
  assert.ok(Math.abs(out.layer4_channel_mean.data[0] - mean) < 1e-5);
});
