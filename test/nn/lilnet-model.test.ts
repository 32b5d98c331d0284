import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LilnetError } from '../../src/errors.ts';
import { DEMO_TRUNK, jointLabels, lilnetConfig, lilnetSpecs, variantMasks } from '../../src/nn/lilnet.ts';
import { inferModelConfig, modelSpecs } from '../../src/nn/models.ts';
import { RESNET50_TRUNK } from '../../src/nn/resnet.ts';
import { resnetClassifierConfig, resnetClassifierSpecs } from '../../src/nn/resnet50.ts';

const count = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

test('LiLNet specs use the checkpoint names', () => {
  const specs = lilnetSpecs(lilnetConfig(3));
  // 326 state-dict entries in the released format, less the 53 num_batches_tracked counters.
  assert.equal(specs.length, 273);
  const byName = new Map(specs.map((s) => [s.name, s.shape]));
  assert.deepEqual(byName.get('conv1.weight'), [64, 3, 7, 7]);
  assert.deepEqual(byName.get('layer3.0.downsample.0.weight'), [1024, 512, 1, 1]);
  assert.deepEqual(byName.get('layer2.1.bn2.running_var'), [128]);
  assert.deepEqual(byName.get('fc3.weight'), [15, 1024]);
  assert.deepEqual(byName.get('fc_ens.weight'), [1024, 2048]);
  assert.deepEqual(byName.get('fc.weight'), [15, 1024]);
  assert.deepEqual(byName.get('fc_SD.weight'), [3, 2048]);
  assert.equal(byName.has('layer4.2.conv3.weight'), true);
  assert.equal(byName.has('layer4.3.conv1.weight'), false);
});

test('ResNet-50 has 25.6 million parameters', () => {
  const specs = resnetClassifierSpecs(resnetClassifierConfig(1000));
  const parameters = specs.filter((s) => s.trainable).reduce((n, s) => n + count(s.shape), 0);
  assert.equal(parameters, 25_557_032);
});

test('four demo models fit in 30 MB', () => {
  const bytes = (k: number): number =>
    lilnetSpecs(lilnetConfig(k, DEMO_TRUNK)).reduce((n, s) => n + 4 * count(s.shape), 0);
  const total = bytes(2) + bytes(3) + bytes(3) + bytes(2);
  assert.ok(total <= 30e6, `four demo models take ${total} bytes`);
});

test('variant masks zero one quadrant each', () => {
  const masks = variantMasks(7);
  const zeros = (v: number): number => masks.subarray(v * 49, (v + 1) * 49).filter((x) => x === 0).length;
  assert.deepEqual([0, 1, 2, 3, 4].map(zeros), [0, 9, 12, 12, 16]);
  // Mask 2 zeroes rows [0, 3) and columns [3, 7): row 0 column 6 is zeroed, row 3 column 6 is kept.
  assert.equal(masks[2 * 49 + 0 * 7 + 6], 0);
  assert.equal(masks[2 * 49 + 3 * 7 + 6], 1);
  // Mask 3 zeroes rows [3, 7) and columns [0, 3).
  assert.equal(masks[3 * 49 + 6 * 7 + 0], 0);
  assert.equal(masks[3 * 49 + 0 * 7 + 0], 1);
  const even = variantMasks(14);
  assert.deepEqual(
    [1, 2, 3, 4].map((v) => even.subarray(v * 196, (v + 1) * 196).filter((x) => x === 0).length),
    [49, 49, 49, 49],
  );
});

test('joint labels put variant v of class c at 5c + v', () => {
  assert.deepEqual([...jointLabels(Int32Array.from([0, 2]))], [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
});

test('model config is inferred from state-dict shapes', () => {
  const asDict = (specs: { name: string; shape: number[] }[]) =>
    new Map(specs.map((s) => [s.name, { shape: s.shape }]));
  assert.deepEqual(inferModelConfig(asDict(lilnetSpecs(lilnetConfig(2, DEMO_TRUNK)))), {
    architecture: 'lilnet',
    numClasses: 2,
    trunk: DEMO_TRUNK,
  });
  assert.deepEqual(
    inferModelConfig(asDict(modelSpecs({ architecture: 'resnet', numClasses: 3, trunk: RESNET50_TRUNK }))),
    {
      architecture: 'resnet',
      numClasses: 3,
      trunk: RESNET50_TRUNK,
    },
  );
  assert.throws(
    () => inferModelConfig(new Map([['fc.weight', { shape: [2, 4] }]])),
    (error: unknown) => error instanceof LilnetError && error.code === 'CHECKPOINT_MISMATCH',
  );
});

test('invalid configs are rejected', () => {
  assert.throws(
    () => lilnetConfig(1),
    (error: unknown) => error instanceof LilnetError && /number of classes 1/.test(error.message),
  );
  assert.throws(
    () => lilnetSpecs(lilnetConfig(2, { baseWidth: 0, blocksPerStage: [1, 1, 1, 1] })),
    (error: unknown) => error instanceof LilnetError && error.code === 'INVALID_ARGUMENT',
  );
});
