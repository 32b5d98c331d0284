import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTorchAvailable } from '../../src/backends/torch/native.ts';
import {
  readDetectorCheckpoint,
  writeDetectorCheckpoint,
  type DetectorCheckpoint,
} from '../../src/detect/detector-checkpoint.ts';
import { openDetector } from '../../src/detect/detector-session.ts';
import { DETECTOR_SIZES } from '../../src/detect/train-detector.ts';
import { detectorAnchors, detectorParameterSpecs, type DetectorConfig } from '../../src/nn/detector.ts';
import { Rng } from '../../src/data/rng.ts';

const config: DetectorConfig = { ...DETECTOR_SIZES.tiny, inputSize: 64 };

/** Builds a checkpoint with random parameters (positive variances), so that every layer shapes the output. */
function randomCheckpoint(seed: number): DetectorCheckpoint {
  const rng = new Rng(seed);
  const parameters = detectorParameterSpecs(config).map((spec) => {
    const count = spec.shape.reduce((product, size) => product * size, 1);
    const data = new Float32Array(count);
    for (let index = 0; index < count; index++) {
      data[index] = spec.name.endsWith('running_var')
        ? rng.uniform(0.5, 1.5)
        : rng.normal(0, spec.name.endsWith('bn.weight') ? 1 : 0.2);
    }
    return { name: spec.name, shape: [...spec.shape], data };
  });
  return { config, parameters };
}

test('checkpoint round trip keeps every tensor', (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'lilnet-detector-ckpt-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const checkpoint = randomCheckpoint(3);
  const file = join(folder, 'model.ckpt');
  writeDetectorCheckpoint(file, {
    ...checkpoint,
    momentum: [null, { name: 'momentum.1', shape: [2], data: new Float32Array([1, 2]) }],
    training: {
      epoch: 4,
      step: 40,
      rngState: [1, 2, 3, 4],
      bestScore: 0.5,
      bestEpoch: 3,
      options: { epochs: 10 },
    },
  });
  const read = readDetectorCheckpoint(file);
  assert.deepEqual(read.config, config);
  assert.equal(read.parameters.length, checkpoint.parameters.length);
  read.parameters.forEach((tensor, index) => {
    assert.equal(tensor.name, checkpoint.parameters[index].name);
    assert.deepEqual([...tensor.data], [...checkpoint.parameters[index].data]);
  });
  assert.equal(read.momentum?.[0], null);
  assert.deepEqual([...read.momentum![1]!.data], [1, 2]);
  assert.equal(read.training?.epoch, 4);

  writeFileSync(join(folder, 'truncated.ckpt'), readFileSync(file).subarray(0, 2000));
  assert.throws(() => readDetectorCheckpoint(join(folder, 'truncated.ckpt')), /truncated/);
  writeFileSync(join(folder, 'other.ckpt'), 'not a checkpoint');
  assert.throws(() => readDetectorCheckpoint(join(folder, 'other.ckpt')), /not a lilnet detector checkpoint/);
});

test(
  'exported detector matches libtorch',
  { skip: !isTorchAvailable() && 'the libtorch addon is not built' },
  async (t) => {
    const { TorchOps } = await import('../../src/backends/torch/ops.ts');
    const { ParameterStore } = await import('../../src/backends/torch/parameters.ts');
    const { noGrad, scope, tensor } = await import('../../src/backends/torch/tensor.ts');
    const { detectorForward } = await import('../../src/nn/detector.ts');

    const folder = mkdtempSync(join(tmpdir(), 'lilnet-detector-export-'));
    t.after(() => rmSync(folder, { recursive: true, force: true }));
    const checkpoint = randomCheckpoint(11);
    const file = join(folder, 'model.ckpt');
    writeDetectorCheckpoint(file, checkpoint);

    const rng = new Rng(5);
    const size = config.inputSize;
    const input = new Float32Array(2 * 3 * size * size).map(() => rng.next());

    const store = ParameterStore.fromStateDict(
      detectorParameterSpecs(config),
      new Map(checkpoint.parameters.map((entry) => [entry.name, { shape: entry.shape, data: entry.data }])),
    ).store;
    t.after(() => store.dispose());
    const expected = noGrad(() =>
      scope(() =>
        detectorForward(
          new TorchOps(),
          store.lookup,
          tensor(input, [2, 3, size, size]),
          config,
        ).output.toFloat32Array(),
      ),
    );

    const detector = await openDetector(file);
    t.after(() => detector.release());
    assert.equal(detector.inputSize, size);
    const { data, dims } = await detector.run(input, 2);
    const anchors = detectorAnchors(size).x.length;
    assert.deepEqual(dims, [2, 5, anchors]);
    let maxDifference = 0;
    let maxValue = 0;
    for (let index = 0; index < data.length; index++) {
      maxDifference = Math.max(maxDifference, Math.abs(data[index] - expected[index]));
      maxValue = Math.max(maxValue, Math.abs(expected[index]));
    }
    assert.ok(
      maxDifference <= 1e-4 * Math.max(1, maxValue),
      `max difference ${maxDifference} of values up to ${maxValue}`,
    );
  },
);
