import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readPytorchCheckpoint, type PytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { compareStateDict, describeStateDictComparison } from '../../src/nn/checkpoint/compare-state-dict.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import { resnetClassifierConfig, resnetClassifierSpecs } from '../../src/nn/resnet50.ts';
import { sharedPath } from '../helpers/shared.ts';

// The reference is a K = 3 LiLNet in the authors' released format (DataParallel keys, bfloat16-exact weights).
let dir: string;
let checkpointPath: string;
let checkpoint: PytorchCheckpoint;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-checkpoint-'));
  checkpointPath = join(dir, 'malignant-reference.pth.tar');
  writeFileSync(
    checkpointPath,
    gunzipSync(readFileSync(sharedPath('fixtures', 'lilnet-reference', 'malignant-reference.pth.tar.gz'))),
  );
  checkpoint = await readPytorchCheckpoint(checkpointPath);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function sum(data: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < data.length; i++) total += data[i];
  return total;
}

test('reference checkpoint has 326 entries', () => {
  assert.equal(checkpoint.stateDict.size, 326);
});

test('reference checkpoint strips module prefix', () => {
  assert.equal(checkpoint.strippedModulePrefix, true);
  assert.equal(checkpoint.stateDictKey, 'state_dict');
  for (const name of checkpoint.stateDict.keys()) assert.ok(!name.startsWith('module.'), name);
});

test('reference checkpoint shapes', () => {
  const expected: Record<string, number[]> = {
    'conv1.weight': [64, 3, 7, 7],
    'bn1.running_var': [64],
    'layer1.0.downsample.0.weight': [256, 64, 1, 1],
    'layer3.0.downsample.0.weight': [1024, 512, 1, 1],
    'layer4.2.conv2.weight': [512, 512, 3, 3],
    'fc3.weight': [15, 1024],
    'fc3.bias': [15],
    'fc_ens.weight': [1024, 2048],
    'fc.weight': [15, 1024],
    'fc_SD.weight': [3, 2048],
    'fc_SD.bias': [3],
    'layer2.1.bn2.num_batches_tracked': [],
  };
  for (const [name, shape] of Object.entries(expected)) {
    assert.deepEqual(checkpoint.stateDict.get(name)?.shape, shape, name);
  }
});

test('reference checkpoint dtypes', () => {
  const counter = checkpoint.stateDict.get('bn1.num_batches_tracked');
  assert.equal(counter?.dtype, 'int64');
  assert.ok(counter?.data instanceof BigInt64Array);
  assert.equal(counter?.data[0], 5n);
  const weight = checkpoint.stateDict.get('conv1.weight');
  assert.equal(weight?.dtype, 'float32');
  assert.ok(weight?.data instanceof Float32Array);
  assert.equal(weight?.data.length, 64 * 3 * 7 * 7);
});

test('reference checkpoint values', () => {
  // Sums in float64, computed with PyTorch 1.13 (torch.load(...)['state_dict'][key].double().sum()).
  const expectedSums: Record<string, number> = {
    'conv1.weight': -35.09413493424654,
    'fc.weight': 1.71620574593544,
    'layer4.2.bn3.running_var': 1363.36328125,
    'fc_SD.bias': -0.0174560546875,
  };
  for (const [name, expected] of Object.entries(expectedSums)) {
    const data = checkpoint.stateDict.get(name)!.data as Float32Array;
    assert.ok(Math.abs(sum(data) - expected) < 1e-9, `${name}: ${sum(data)} vs ${expected}`);
  }
});

test('reference weights are bfloat16-exact', () => {
  // The fixture rounds every weight to bfloat16, so the low 16 bits of each float32 must be zero. A reader
  // that misplaces a storage offset or byte order breaks this for almost every element.
  for (const [name, entry] of checkpoint.stateDict) {
    if (entry.dtype !== 'float32') continue;
    const bits = new Uint32Array(
      (entry.data as Float32Array).buffer,
      (entry.data as Float32Array).byteOffset,
      entry.data.length,
    );
    assert.ok(
      bits.every((b) => (b & 0xffff) === 0),
      name,
    );
  }
});

test('reference checkpoint metadata', () => {
  assert.equal(checkpoint.meta.epoch, 3);
  assert.equal(checkpoint.meta.auc, 0.5);
  assert.equal(checkpoint.meta.acc, 0.33);
  const optimizer = checkpoint.meta.optimizer as { param_groups: { lr: number; momentum: number }[] };
  assert.equal(optimizer.param_groups[0].lr, 0.002);
  assert.equal(optimizer.param_groups[0].momentum, 0.9);
  assert.equal('state_dict' in checkpoint.meta, false);
});

test('compareStateDict on reference checkpoint', () => {
  const specs = [...checkpoint.stateDict]
    .filter(([name]) => !name.endsWith('num_batches_tracked') && name !== 'fc3.bias')
    .map(([name, entry]) => ({
      name,
      shape: name === 'fc.weight' ? [10, 1024] : entry.shape,
      init: { kind: 'constant' as const, value: 0 },
      trainable: true,
    }));
  specs.push({ name: 'head.extra', shape: [4], init: { kind: 'constant', value: 0 }, trainable: true });

  const comparison = compareStateDict(checkpoint.stateDict, specs);
  assert.deepEqual(comparison.missing, ['head.extra']);
  assert.deepEqual(comparison.unexpected, ['fc3.bias']);
  assert.deepEqual(comparison.misshaped, [
    { name: 'fc.weight', expectedShape: [10, 1024], actualShape: [15, 1024] },
  ]);
  assert.equal(comparison.ignored.length, 53);
  assert.equal(comparison.matches, false);
});

test('compareStateDict reports a full match', () => {
  const specs = [...checkpoint.stateDict]
    .filter(([name]) => !name.endsWith('num_batches_tracked'))
    .map(([name, entry]) => ({
      name,
      shape: entry.shape,
      init: { kind: 'constant' as const, value: 0 },
      trainable: true,
    }));
  const comparison = compareStateDict(checkpoint.stateDict, specs);
  assert.equal(comparison.matches, true);
  assert.equal(specs.length, 326 - 53);
});

test('reference checkpoint fits lilnet specs', () => {
  const comparison = compareStateDict(checkpoint.stateDict, lilnetSpecs(lilnetConfig(3)));
  assert.deepEqual(comparison.missing, []);
  assert.deepEqual(comparison.unexpected, []);
  assert.deepEqual(comparison.misshaped, []);
  assert.equal(comparison.ignored.length, 53);
  assert.equal(comparison.matches, true);
});

test('reference checkpoint against resnet specs', () => {
  const comparison = compareStateDict(checkpoint.stateDict, resnetClassifierSpecs(resnetClassifierConfig(3)));
  assert.deepEqual(comparison.missing, []);
  assert.deepEqual(comparison.unexpected.sort(), [
    'fc3.bias',
    'fc3.weight',
    'fc_SD.bias',
    'fc_SD.weight',
    'fc_ens.bias',
    'fc_ens.weight',
  ]);
  assert.deepEqual(comparison.misshaped, [
    { name: 'fc.weight', expectedShape: [3, 2048], actualShape: [15, 1024] },
    { name: 'fc.bias', expectedShape: [3], actualShape: [15] },
  ]);
  assert.match(
    describeStateDictComparison(comparison),
    /mis-shaped keys: fc\.weight \[15, 1024\] where the model needs \[3, 2048\]/,
  );
});
