import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  openClassifierModel,
  type CheckpointModel,
  type ClassifierModel,
} from '../../src/nn/classifier-model.ts';
import { lilnetConfig } from '../../src/nn/lilnet.ts';
import { resnetClassifierConfig } from '../../src/nn/resnet50.ts';
import {
  exportLilnetOnnx,
  exportResnetClassifierOnnx,
  stateDictParameters,
} from '../../src/backends/onnx/export-model.ts';
import { OnnxInferenceSession, type FloatTensor } from '../../src/backends/onnx/session.ts';

// A K = 2 LiLNet and a plain ResNet-50, written and evaluated by PyTorch (test/onnx/oracle, an independent
// Python definition of both networks), exported by lilnet and run in ONNX Runtime: outputs within 1e-4, at the
// oracle's batch of 2 and at other batch sizes. CI does not install python3-torch, so these tests skip there.
const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./oracle/write_classifiers.py', import.meta.url));
const skip =
  spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
    ? false
    : `${PYTHON} cannot import torch (install python3-torch)`;
const TOLERANCE = 1e-4;
const IMAGE_VALUES = 3 * 224 * 224;

let dir: string;
let expected: { lilnet: Record<string, number[][]>; resnet: Record<string, number[][]> };
let images: Float32Array;

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'lilnet-oracle-'));
  const result = spawnSync(PYTHON, [ORACLE, dir], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const raw = readFileSync(join(dir, 'inputs.bin'));
  images = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function assertRowsClose(actual: FloatTensor, rows: number[][], what: string): void {
  const width = rows[0].length;
  assert.deepEqual(actual.shape, [rows.length, width], `${what} shape`);
  let worst = 0;
  rows.forEach((row, r) =>
    row.forEach((v, c) => (worst = Math.max(worst, Math.abs(actual.data[r * width + c] - v)))),
  );
  assert.ok(worst <= TOLERANCE, `${what}: max abs difference ${worst}`);
}

/** Images 1, 0, 1 of the oracle's batch, to check a batch of 3 against the oracle's rows. */
function batchOfThree(): FloatTensor {
  const data = new Float32Array(3 * IMAGE_VALUES);
  data.set(images.subarray(IMAGE_VALUES), 0);
  data.set(images.subarray(0, IMAGE_VALUES), IMAGE_VALUES);
  data.set(images.subarray(IMAGE_VALUES), 2 * IMAGE_VALUES);
  return { data, shape: [3, 3, 224, 224] };
}

function checkpointOf(model: ClassifierModel): CheckpointModel {
  if (model.format !== 'pytorch-checkpoint')
    assert.fail(`opened as ${model.format}, not as a PyTorch checkpoint`);
  return model;
}

test('lilnet k2 matches pytorch', { skip }, async () => {
  const model = checkpointOf(await openClassifierModel(join(dir, 'lilnet-k2.pth.tar')));
  assert.deepEqual(model.architecture, {
    kind: 'lilnet',
    numClasses: 2,
    trunk: { baseWidth: 64, blocksPerStage: [3, 4, 6, 3] },
  });
  const exported = exportLilnetOnnx(lilnetConfig(2), { parameters: stateDictParameters(model.stateDict) });
  assert.deepEqual(exported.outputs[0], { name: 'aggregated_logits', dims: ['batch', 2] });
  const session = await OnnxInferenceSession.create(exported.bytes);
  try {
    const out = await session.run({ images: { data: images, shape: [2, 3, 224, 224] } });
    for (const name of Object.keys(expected.lilnet)) assertRowsClose(out[name], expected.lilnet[name], name);

    const three = await session.run({ images: batchOfThree() }, ['aggregated_logits', 'layer3_joint_logits']);
    const [first, second] = expected.lilnet.aggregated_logits;
    assertRowsClose(three.aggregated_logits, [second, first, second], 'aggregated_logits at batch 3');
    assert.deepEqual(three.layer3_joint_logits.shape, [15, 10]);
  } finally {
    await session.release();
  }
});

test('resnet50 k2 matches pytorch', { skip }, async () => {
  const model = checkpointOf(await openClassifierModel(join(dir, 'resnet50-k2.pth')));
  assert.equal(model.architecture.kind, 'resnet');
  const exported = exportResnetClassifierOnnx(resnetClassifierConfig(2), {
    parameters: stateDictParameters(model.stateDict),
    featureOutputs: ['layer4_features'],
  });
  assert.deepEqual(
    exported.outputs.map((o) => o.name),
    ['logits', 'layer4_features'],
  );
  const session = await OnnxInferenceSession.create(exported.bytes);
  try {
    const out = await session.run({ images: { data: images, shape: [2, 3, 224, 224] } });
    assertRowsClose(out.logits, expected.resnet.logits, 'logits');
    assert.deepEqual(out.layer4_features.shape, [2, 2048, 7, 7]);

    const one = await session.run({ images: { data: images.slice(IMAGE_VALUES), shape: [1, 3, 224, 224] } }, [
      'logits',
    ]);
    assertRowsClose(one.logits, [expected.resnet.logits[1]], 'logits at batch 1');
  } finally {
    await session.release();
  }
});
