import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { isTorchAvailable } from '../../src/backends/torch/index.ts';
import { writeTrainingCheckpoint, type CheckpointTensor } from '../../src/nn/checkpoint/lilnet-checkpoint.ts';
import { readPytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { sharedPath } from '../helpers/shared.ts';

// `lilnet predict` and `lilnet export-onnx` on the reference K = 3 checkpoint, checked against the outputs of
// the authors' PyTorch implementation (within 1e-4), from the prepared tensor and from the PNG crops.
const TOLERANCE = 1e-4;
const OUTPUTS = [
  'aggregated_logits',
  'single_logits',
  'self_distillation_logits',
  'layer4_joint_logits',
  'layer3_joint_logits',
];
const reference = (...parts: string[]) => sharedPath('fixtures', 'lilnet-reference', ...parts);
const CROPS = [1, 2, 3, 4, 5, 6].map((i) => reference('crops', `crop-0${i}.png`));

let dir: string;
let checkpoint: string;
let expected: Record<string, number[][]>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-predict-cli-'));
  checkpoint = join(dir, 'malignant-reference.pth.tar');
  writeFileSync(checkpoint, gunzipSync(readFileSync(reference('malignant-reference.pth.tar.gz'))));
  expected = JSON.parse(readFileSync(reference('expected-outputs.json'), 'utf8')) as Record<
    string,
    number[][]
  >;
});

after(() => rmSync(dir, { recursive: true, force: true }));

function lilnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function maxDifference(actual: number[][], wanted: number[][]): number {
  assert.equal(actual.length, wanted.length, 'rows');
  let worst = 0;
  wanted.forEach((row, r) => {
    assert.equal(actual[r].length, row.length, `columns of row ${r}`);
    row.forEach((v, c) => (worst = Math.max(worst, Math.abs(actual[r][c] - v))));
  });
  return worst;
}

function assertMatchesReference(document: Record<string, number[][]>, names: string[]): void {
  for (const name of names) {
    const difference = maxDifference(document[name], expected[name]);
    assert.ok(difference <= TOLERANCE, `${name}: max abs difference ${difference}`);
  }
}

test('predict tensor json joint', () => {
  const result = lilnet(
    'predict',
    '--model',
    checkpoint,
    '--task',
    'malignant',
    '--json',
    '--joint',
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '6,3,224,224',
  );
  assert.equal(result.status, 0, result.stderr);
  const document = JSON.parse(result.stdout);
  assertMatchesReference(document, OUTPUTS);
  assert.deepEqual(document.classes, ['HCC', 'ICC', 'MET']);
  assert.equal(document.predicted_class.length, 6);
});

test('predict png crops json', () => {
  const result = lilnet('predict', '--model', checkpoint, '--json', ...CROPS);
  assert.equal(result.status, 0, result.stderr);
  const document = JSON.parse(result.stdout);
  assertMatchesReference(document, OUTPUTS.slice(0, 3));
  assert.equal(document.layer4_joint_logits, undefined, 'joint logits only with --joint');
  assert.deepEqual(
    document.inputs,
    CROPS.map((_, i) => `crop-0${i + 1}.png`),
  );
});

test('predict prints table', () => {
  const result = lilnet('predict', '--model', checkpoint, '--task', 'malignant', CROPS[0]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /input\tpredicted\tHCC\tICC\tMET/);
  assert.match(result.stdout, /crop-01\.png\t(HCC|ICC|MET)\t0\.\d{4}\t0\.\d{4}\t0\.\d{4}/);
});

test('export-onnx then predict onnx', () => {
  // --batch-size 4 splits the six images into two engine calls whose outputs are joined.
  const onnxPath = join(dir, 'reference.onnx');
  const exported = lilnet(
    'export-onnx',
    '--model',
    checkpoint,
    '-o',
    onnxPath,
    '--task',
    'malignant',
    '--features',
    'layer4_features',
    '--json',
  );
  assert.equal(exported.status, 0, exported.stderr);
  const summary = JSON.parse(exported.stdout);
  assert.deepEqual(summary.inputs, [{ name: 'images', dims: ['batch', 3, 224, 224] }]);
  assert.deepEqual(
    summary.outputs.map((o: { name: string }) => o.name),
    [...OUTPUTS, 'layer4_features'],
  );
  assert.deepEqual(summary.outputs.at(-1).dims, ['batch', 2048, 7, 7]);
  assert.deepEqual(summary.outputs[3].dims, ['5*batch', 15]);

  const result = lilnet(
    'predict',
    '--model',
    onnxPath,
    '--json',
    '--joint',
    '--batch-size',
    '4',
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '6,3,224,224',
  );
  assert.equal(result.status, 0, result.stderr);
  assertMatchesReference(JSON.parse(result.stdout), OUTPUTS);
});

const torchSkip = isTorchAvailable()
  ? false
  : 'the libtorch addon is not built (npm install with libtorch-dev)';

test('predict torch engine', { skip: torchSkip }, () => {
  // --batch-size 5 splits the six images into two engine calls whose outputs are joined.
  const result = lilnet(
    'predict',
    '--model',
    checkpoint,
    '--engine',
    'torch',
    '--json',
    '--joint',
    '--batch-size',
    '5',
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '6,3,224,224',
  );
  assert.equal(result.status, 0, result.stderr);
  assertMatchesReference(JSON.parse(result.stdout), OUTPUTS);
});

test('predict own training checkpoint', async () => {
  // The reference weights re-saved in lilnet's own format: the float32 parameters and buffers of the model.
  const { stateDict } = await readPytorchCheckpoint(checkpoint);
  const weights = new Map<string, CheckpointTensor>();
  for (const [name, entry] of stateDict) {
    if (entry.data instanceof Float32Array)
      weights.set(name, { shape: entry.shape, dtype: 'float32', data: entry.data });
  }
  const own = join(dir, 'own.lilnet');
  await writeTrainingCheckpoint(own, {
    model: { architecture: 'lilnet', numClasses: 3, trunk: { baseWidth: 64, blocksPerStage: [3, 4, 6, 3] } },
    epoch: 3,
    stateDict: weights,
    optimizer: null,
    config: {},
    metrics: {},
  });
  const result = lilnet(
    'predict',
    '--model',
    own,
    '--json',
    '--joint',
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '6,3,224,224',
  );
  assert.equal(result.status, 0, result.stderr);
  assertMatchesReference(JSON.parse(result.stdout), OUTPUTS);
});

test('predict rejects wrong task', () => {
  const result = lilnet('predict', '--model', checkpoint, '--task', 'bm', CROPS[0]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /CHECKPOINT_MISMATCH/);
  assert.match(result.stderr, /3 classes but task bm has 2/);
});

test('predict rejects tensor size mismatch', () => {
  const result = lilnet(
    'predict',
    '--model',
    checkpoint,
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '5,3,224,224',
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /has 3612672 bytes, but shape 5,3,224,224 of float32 needs 3010560/);
});

test('predict rejects bad shape', () => {
  const result = lilnet(
    'predict',
    '--model',
    checkpoint,
    '--input-tensor',
    reference('inputs-nchw-float32.bin'),
    '--shape',
    '6,1,224,224',
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /--shape 6,1,224,224 is not N,3,S,S/);
});

test('predict needs one input kind', () => {
  const result = lilnet('predict', '--model', checkpoint);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /either --input-tensor with --shape or image files/);
});

test('predict torch engine rejects onnx', () => {
  const onnxPath = join(dir, 'missing.onnx');
  writeFileSync(onnxPath, new Uint8Array([8, 8]));
  const result = lilnet('predict', '--model', onnxPath, '--engine', 'torch', CROPS[0]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /torch engine cannot run the ONNX file/);
});
