import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ParameterStore,
  Sgd,
  cachedTensorBytes,
  emptyTensorCache,
  lilnetTrainingStep,
  liveTensorCount,
} from '../../src/backends/torch/index.ts';
import { createRandom } from '../../src/nn/init.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';

test('memory stays flat over many training steps', () => {
  // A narrow LiLNet (base width 8) on 4 images of 96x96: each step allocates tens of megabytes of
  // activations and gradients, so a per-step leak would show in the resident set within a few steps.
  const config = lilnetConfig(2, { baseWidth: 8, blocksPerStage: [1, 2, 2, 1] });
  const store = ParameterStore.initialise(lilnetSpecs(config), 3);
  const sgd = new Sgd(store.trainableParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const random = createRandom(5);
  const shape = [4, 3, 96, 96];
  const images = Float32Array.from({ length: 4 * 3 * 96 * 96 }, () => random() * 2 - 1);
  const labels = Int32Array.from([0, 1, 1, 0]);
  const liveBefore = liveTensorCount();
  assert.ok(liveBefore >= store.specs.length);
  try {
    lilnetTrainingStep(store, sgd, config, images, shape, labels);
    const liveAfterFirstStep = liveTensorCount();
    // The first step creates one momentum buffer per trainable parameter, and nothing else survives it.
    assert.equal(liveAfterFirstStep - liveBefore, store.trainableParameters().length);

    for (let step = 0; step < 5; step++) lilnetTrainingStep(store, sgd, config, images, shape, labels);
    const rssWarm = process.memoryUsage().rss;
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      losses.push(lilnetTrainingStep(store, sgd, config, images, shape, labels).total);
      assert.equal(liveTensorCount(), liveAfterFirstStep, `live tensors changed at step ${step}`);
    }
    const growthMb = (process.memoryUsage().rss - rssWarm) / 2 ** 20;
    assert.ok(growthMb < 16, `resident memory grew by ${growthMb.toFixed(1)} MB over 30 steps`);
    assert.ok(losses.every(Number.isFinite), 'every loss is finite');
    assert.ok(
      losses[losses.length - 1] < losses[0],
      `loss fell on a fixed batch: ${losses[0]} -> ${losses.at(-1)}`,
    );
  } finally {
    sgd.dispose();
    store.dispose();
  }
  assert.equal(
    liveTensorCount(),
    liveBefore - store.specs.length,
    'disposing the store and optimiser frees every tensor',
  );
  emptyTensorCache();
  assert.equal(cachedTensorBytes(), 0);
});
