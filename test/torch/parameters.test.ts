import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LilnetError } from '../../src/errors.ts';
import { ParameterStore } from '../../src/backends/torch/index.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import type { ResNetTrunkConfig } from '../../src/nn/resnet.ts';

const TINY: ResNetTrunkConfig = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] };

function stateDictOf(
  store: ParameterStore,
  prefix = '',
): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([...store.toStateDict()].map(([name, entry]) => [prefix + name, entry]));
}

test('initialisation is seeded and follows the specs', () => {
  const specs = lilnetSpecs(lilnetConfig(2, TINY));
  const a = ParameterStore.initialise(specs, 1);
  const b = ParameterStore.initialise(specs, 1);
  const c = ParameterStore.initialise(specs, 2);
  try {
    assert.deepEqual(
      a.get('layer1.0.conv2.weight').toFloat32Array(),
      b.get('layer1.0.conv2.weight').toFloat32Array(),
    );
    assert.notDeepEqual(
      a.get('layer1.0.conv2.weight').toFloat32Array(),
      c.get('layer1.0.conv2.weight').toFloat32Array(),
    );
    assert.deepEqual([...a.get('bn1.weight').toFloat32Array()], [1, 1, 1, 1]);
    assert.deepEqual([...a.get('bn1.running_var').toFloat32Array()], [1, 1, 1, 1]);
    assert.deepEqual([...a.get('bn1.bias').toFloat32Array()], [0, 0, 0, 0]);
    assert.equal(a.get('conv1.weight').requiresGrad, true);
    assert.equal(a.get('bn1.running_mean').requiresGrad, false);

    // Kaiming-normal, fan-out: std sqrt(2 / (32 * 3 * 3)) for the 3x3 convolution of layer4, width 32.
    const weights = a.get('layer4.0.conv2.weight').toFloat32Array();
    const std = Math.sqrt(weights.reduce((s, v) => s + v * v, 0) / weights.length);
    const expectedStd = Math.sqrt(2 / (32 * 9));
    assert.ok(Math.abs(std - expectedStd) / expectedStd < 0.05, `std ${std} vs ${expectedStd}`);
    // Linear layers: uniform in +-1/sqrt(fan_in), fan_in 128 for fc_SD.
    const bound = 1 / Math.sqrt(128);
    const linear = a.get('fc_SD.weight').toFloat32Array();
    assert.ok(
      linear.every((v) => Math.abs(v) <= bound),
      'fc_SD.weight within the fan-in bound',
    );
  } finally {
    for (const store of [a, b, c]) store.dispose();
  }
});

test('state dict with module prefix loads', () => {
  const specs = lilnetSpecs(lilnetConfig(2, TINY));
  const source = ParameterStore.initialise(specs, 5);
  const { store, comparison } = ParameterStore.fromStateDict(specs, stateDictOf(source, 'module.'));
  try {
    assert.equal(comparison.matches, true);
    assert.deepEqual(store.get('fc.weight').toFloat32Array(), source.get('fc.weight').toFloat32Array());
  } finally {
    store.dispose();
    source.dispose();
  }
});

test('mismatched state dict is reported', () => {
  const threeClasses = ParameterStore.initialise(lilnetSpecs(lilnetConfig(3, TINY)), 5);
  const entries = stateDictOf(threeClasses);
  threeClasses.dispose();
  entries.delete('layer2.0.bn1.running_mean');
  entries.set('extra.weight', { shape: [1], data: new Float32Array(1) });
  const twoClassSpecs = lilnetSpecs(lilnetConfig(2, TINY));

  assert.throws(
    () => ParameterStore.fromStateDict(twoClassSpecs, entries),
    (error: unknown) =>
      error instanceof LilnetError &&
      error.code === 'CHECKPOINT_MISMATCH' &&
      /missing keys: layer2\.0\.bn1\.running_mean/.test(error.message) &&
      /unexpected keys: extra\.weight/.test(error.message) &&
      /fc_SD\.weight \[3, 128\] where the model needs \[2, 128\]/.test(error.message),
  );

  const { store, comparison } = ParameterStore.fromStateDict(twoClassSpecs, entries, { strict: false });
  try {
    assert.deepEqual(comparison.missing, ['layer2.0.bn1.running_mean']);
    assert.deepEqual(comparison.unexpected, ['extra.weight']);
    assert.deepEqual(comparison.misshaped.map((m) => m.name).sort(), [
      'fc.bias',
      'fc.weight',
      'fc3.bias',
      'fc3.weight',
      'fc_SD.bias',
      'fc_SD.weight',
    ]);
    assert.deepEqual(store.get('conv1.weight').toFloat32Array(), entries.get('conv1.weight')!.data);
    assert.deepEqual(store.get('fc_SD.weight').shape, [2, 128]);
    assert.deepEqual([...store.get('layer2.0.bn1.running_mean').toFloat32Array()], new Array(8).fill(0));
    assert.throws(
      () => store.get('no.such.weight'),
      (error: unknown) => error instanceof LilnetError && error.code === 'INTERNAL',
    );
  } finally {
    store.dispose();
  }
});

test('loadStateDict copies into existing parameters', () => {
  const specs = lilnetSpecs(lilnetConfig(2, TINY));
  const target = ParameterStore.initialise(specs, 1);
  const source = ParameterStore.initialise(specs, 2);
  try {
    const before = target.get('conv1.weight');
    target.loadStateDict(stateDictOf(source));
    assert.equal(target.get('conv1.weight'), before, 'the same tensor object is updated in place');
    assert.deepEqual(before.toFloat32Array(), source.get('conv1.weight').toFloat32Array());
    assert.equal(before.requiresGrad, true);
  } finally {
    target.dispose();
    source.dispose();
  }
});

test('initialisation rejects a non-integer seed', () => {
  // The generator keeps seed >>> 0, so NaN and 1.5 silently gave the weights of seeds 0 and 1.
  const specs = lilnetSpecs(lilnetConfig(2, TINY));
  for (const seed of [Number.NaN, 1.5, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => ParameterStore.initialise(specs, seed),
      (error: unknown) =>
        error instanceof LilnetError && error.code === 'INVALID_ARGUMENT' && /seed/.test(error.message),
      String(seed),
    );
  }
});
