import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ParameterStore,
  Sgd,
  TorchOps,
  captureTrainingCheckpoint,
  lilnetTrainingStep,
  noGrad,
  restoreSgdState,
  scope,
  tensor,
} from '../../src/backends/torch/index.ts';
import {
  readTrainingCheckpoint,
  writeTrainingCheckpoint,
} from '../../src/nn/checkpoint/lilnet-checkpoint.ts';
import { lilnetConfig, lilnetForward } from '../../src/nn/lilnet.ts';
import { modelSpecs, type ModelConfig } from '../../src/nn/models.ts';
import { RESNET50_TRUNK, type ResNetTrunkConfig } from '../../src/nn/resnet.ts';
import { resnetClassifierForward } from '../../src/nn/resnet50.ts';
import {
  maxAbsDifference,
  pytorchOracleUnavailable,
  readReferenceInputs,
  runPytorchOracle,
} from './helpers.ts';

const IMAGES = 1;
const ops = new TorchOps();
const inputs = readReferenceInputs().subarray(0, IMAGES * 3 * 224 * 224);
let folder: string;
let inputsPath: string;

before(() => {
  folder = mkdtempSync(join(tmpdir(), 'lilnet-own-checkpoints-'));
  inputsPath = join(folder, 'inputs.bin');
  writeFileSync(inputsPath, inputs);
});

after(() => rmSync(folder, { recursive: true, force: true }));

/** Eval-mode outputs of a model config on the first reference images, by name as the oracle prints them. */
function evalOutputs(model: ModelConfig, store: ParameterStore): Record<string, Float32Array> {
  return noGrad(() =>
    scope((): Record<string, Float32Array> => {
      const images = tensor(inputs, [IMAGES, 3, 224, 224]);
      if (model.architecture === 'resnet') {
        return {
          logits: resnetClassifierForward(ops, store.lookup, model, images, {
            training: false,
          }).toFloat32Array(),
        };
      }
      const out = lilnetForward(ops, store.lookup, lilnetConfig(model.numClasses, model.trunk), images, {
        training: false,
      });
      return {
        aggregated_logits: out.aggregated.toFloat32Array(),
        single_logits: out.single.toFloat32Array(),
        self_distillation_logits: out.selfDistillation.toFloat32Array(),
        layer4_joint_logits: out.layer4Joint.toFloat32Array(),
        layer3_joint_logits: out.layer3Joint.toFloat32Array(),
      };
    }),
  );
}

/**
 * Builds a model from a seed, gives its batch norms non-trivial running statistics with training-mode forwards,
 * and writes it as a training checkpoint.
 */
async function writeSeededCheckpoint(model: ModelConfig, path: string): Promise<ParameterStore> {
  const store = ParameterStore.initialise(modelSpecs(model), 42);
  noGrad(() =>
    scope(() => {
      const images = tensor(inputs, [IMAGES, 3, 224, 224]);
      if (model.architecture === 'resnet')
        resnetClassifierForward(ops, store.lookup, model, images, { training: true });
      else
        lilnetForward(ops, store.lookup, lilnetConfig(model.numClasses, model.trunk), images, {
          training: true,
        });
    }),
  );
  await writeTrainingCheckpoint(path, captureTrainingCheckpoint({ model, store, epoch: 0 }));
  return store;
}

const models: [string, ModelConfig][] = [
  ['LiLNet K=2', { architecture: 'lilnet', numClasses: 2, trunk: RESNET50_TRUNK }],
  ['plain ResNet-50', { architecture: 'resnet', numClasses: 3, trunk: RESNET50_TRUNK }],
];

for (const [name, model] of models) {
  test(`${name} checkpoint round-trips and matches PyTorch`, async (t) => {
    const path = join(folder, `${model.architecture}-${model.numClasses}.lilnet`);
    const store = await writeSeededCheckpoint(model, path);
    const written = evalOutputs(model, store);
    store.dispose();

    const checkpoint = await readTrainingCheckpoint(path);
    assert.deepEqual(checkpoint.model, model);
    const { store: loaded, comparison } = ParameterStore.fromStateDict(
      modelSpecs(checkpoint.model),
      checkpoint.stateDict,
    );
    assert.equal(comparison.matches, true);
    const reloaded = evalOutputs(model, loaded);
    loaded.dispose();
    for (const [output, values] of Object.entries(written)) {
      assert.deepEqual(reloaded[output], values, `${output} after the round trip`);
    }

    const unavailable = pytorchOracleUnavailable();
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    const expected = runPytorchOracle<Record<string, number[][]>>(['outputs', path, inputsPath, `${IMAGES}`]);
    assert.deepEqual(Object.keys(expected).sort(), Object.keys(written).sort());
    for (const [output, rows] of Object.entries(expected)) {
      // Logits of an untrained full-width network reach magnitudes of tens, so the bound scales with them.
      const flat = rows.flat();
      const scale = Math.max(1, ...flat.map(Math.abs));
      const difference = maxAbsDifference(written[output], flat);
      assert.ok(
        difference <= 1e-4 * scale,
        `${output} differs from PyTorch by ${difference} (scale ${scale})`,
      );
    }
  });
}

test('training checkpoint resumes with momentum', async () => {
  // Two steps in one go must equal one step, a checkpoint, a reload and a second step.
  const trunk: ResNetTrunkConfig = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] };
  const model: ModelConfig = { architecture: 'lilnet', numClasses: 2, trunk };
  const config = lilnetConfig(2, trunk);
  const images = inputs.subarray(0, 2 * 3 * 64 * 64);
  const shape = [2, 3, 64, 64];
  const labels = Int32Array.from([1, 0]);
  const options = { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 };

  const straight = ParameterStore.initialise(modelSpecs(model), 9);
  const straightSgd = new Sgd(straight.trainableParameters(), options);
  lilnetTrainingStep(straight, straightSgd, config, images, shape, labels);
  lilnetTrainingStep(straight, straightSgd, config, images, shape, labels);

  const first = ParameterStore.initialise(modelSpecs(model), 9);
  const firstSgd = new Sgd(first.trainableParameters(), options);
  lilnetTrainingStep(first, firstSgd, config, images, shape, labels);
  const path = join(folder, 'resume.lilnet');
  await writeTrainingCheckpoint(
    path,
    captureTrainingCheckpoint({
      model,
      store: first,
      sgd: firstSgd,
      epoch: 1,
      metrics: { loss: 1.5 },
      config: { lr: 0.05 },
    }),
  );
  first.dispose();
  firstSgd.dispose();

  const checkpoint = await readTrainingCheckpoint(path);
  assert.equal(checkpoint.epoch, 1);
  assert.deepEqual(checkpoint.metrics, { loss: 1.5 });
  assert.deepEqual(checkpoint.config, { lr: 0.05 });
  const { store: resumed } = ParameterStore.fromStateDict(modelSpecs(checkpoint.model), checkpoint.stateDict);
  const resumedSgd = new Sgd(resumed.trainableParameters(), options);
  restoreSgdState(resumedSgd, resumed, checkpoint);
  lilnetTrainingStep(resumed, resumedSgd, config, images, shape, labels);

  for (const name of ['conv1.weight', 'layer2.0.bn1.running_var', 'fc_SD.bias']) {
    assert.deepEqual(resumed.get(name).toFloat32Array(), straight.get(name).toFloat32Array(), name);
  }
  for (const store of [straight, resumed]) store.dispose();
  straightSgd.dispose();
  resumedSgd.dispose();
});
