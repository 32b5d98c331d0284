import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LilnetError } from '../../src/errors.ts';
import { openClassifierModel } from '../../src/nn/classifier-model.ts';
import { createRandom, initialValues } from '../../src/nn/init.ts';
import { DEMO_TRUNK, lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import { torchSaveStateDict } from './torch-save-writer.ts';

// Quarter-width LiLNet checkpoints written in the torch.save layout, to check how a model file is opened:
// the architecture read from the names and shapes, and missing or mis-shaped keys rejected.
let dir: string;
let weights: Map<string, { shape: number[]; data: Float32Array }>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-classifier-model-'));
  const random = createRandom(5);
  weights = new Map(
    lilnetSpecs(lilnetConfig(2, DEMO_TRUNK)).map((s) => [
      s.name,
      { shape: s.shape, data: initialValues(s, random) },
    ]),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): string {
  const path = join(dir, name);
  writeFileSync(path, torchSaveStateDict(tensors, 4));
  return path;
}

async function openError(path: string): Promise<LilnetError> {
  const error = await openClassifierModel(path).then(
    () => assert.fail(`${path} should be rejected`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LilnetError, String(error));
  return error;
}

test('written checkpoint opens as lilnet', async () => {
  const model = await openClassifierModel(write('demo.pth.tar', weights));
  if (model.format !== 'pytorch-checkpoint') assert.fail(`opened as ${model.format}`);
  assert.deepEqual(model.architecture, { kind: 'lilnet', numClasses: 2, trunk: DEMO_TRUNK });
  assert.equal(model.meta.epoch, 4);
  assert.equal(model.stateDict.size, weights.size);
  const conv = model.stateDict.get('layer2.0.conv2.weight')!;
  assert.deepEqual(conv.shape, weights.get('layer2.0.conv2.weight')!.shape);
  assert.deepEqual(conv.data, weights.get('layer2.0.conv2.weight')!.data);
});

test('missing key rejected', async () => {
  const partial = new Map(weights);
  partial.delete('fc_ens.bias');
  const error = await openError(write('missing.pth', partial));
  assert.equal(error.code, 'CHECKPOINT_MISMATCH');
  assert.match(error.message, /missing keys: fc_ens\.bias/);
});

test('mis-shaped key rejected', async () => {
  const changed = new Map(weights);
  changed.set('layer1.1.bn2.running_var', { shape: [8], data: new Float32Array(8).fill(1) });
  const error = await openError(write('misshaped.pth', changed));
  assert.equal(error.code, 'CHECKPOINT_MISMATCH');
  assert.match(
    error.message,
    /mis-shaped keys: layer1\.1\.bn2\.running_var \[8\] where the model needs \[16\]/,
  );
});

test('unexpected key tolerated', async () => {
  const extra = new Map(weights);
  extra.set('projection.weight', { shape: [2, 2], data: new Float32Array(4) });
  const model = await openClassifierModel(write('extra.pth', extra));
  assert.equal(model.format, 'pytorch-checkpoint');
});

test('onnx extension opens as onnx', async () => {
  const path = join(dir, 'model.onnx');
  writeFileSync(path, new Uint8Array([0x08, 0x08]));
  assert.deepEqual(await openClassifierModel(path), { format: 'onnx', path });
});

test('missing model file rejected', async () => {
  const error = await openError(join(dir, 'absent.pth'));
  assert.equal(error.code, 'FILE_NOT_FOUND');
});
