/**
 * The classifier being trained, on libtorch: parameters, SGD optimiser, one training step, evaluation logits,
 * and conversion to and from lilnet's training checkpoint. LiLNet trains with its own loss (joint heads,
 * self-distillation); the plain ResNet baseline with cross-entropy. Evaluation scores are LiLNet's aggregated
 * logits (LiLNet's prediction rule) or the ResNet's logits.
 */
import { ParameterStore, Sgd, TorchOps } from '../backends/torch/index.ts';
import { noGrad, scope, tensor } from '../backends/torch/tensor.ts';
import type {
  CheckpointTensor,
  SgdCheckpointState,
  TrainingCheckpoint,
} from '../nn/checkpoint/lilnet-checkpoint.ts';
import { lilnetConfig, lilnetForward, lilnetLoss } from '../nn/lilnet.ts';
import { modelSpecs, type ModelConfig } from '../nn/models.ts';
import type { StateDictEntry } from '../backends/torch/parameters.ts';
import { resnetClassifierConfig, resnetClassifierForward } from '../nn/resnet50.ts';

export const SGD_MOMENTUM = 0.9;
export const WEIGHT_DECAY = 1e-4;

export interface StepResult {
  loss: number;
  /** Training-mode predictions of the batch (argmax of the aggregated or plain logits). */
  correct: number;
}

export class ClassifierRunner {
  readonly model: ModelConfig;
  readonly store: ParameterStore;
  readonly sgd: Sgd;
  readonly #ops = new TorchOps();

  constructor(model: ModelConfig, store: ParameterStore, lr: number) {
    this.model = model;
    this.store = store;
    this.sgd = new Sgd(store.trainableParameters(), {
      lr,
      momentum: SGD_MOMENTUM,
      weightDecay: WEIGHT_DECAY,
    });
  }

  static initialise(model: ModelConfig, seed: number, lr: number): ClassifierRunner {
    return new ClassifierRunner(model, ParameterStore.initialise(modelSpecs(model), seed), lr);
  }

  /** Builds from a state dict; mismatched heads (other class counts) start from their initialisation. */
  static fromStateDict(
    model: ModelConfig,
    stateDict: ReadonlyMap<string, StateDictEntry>,
    lr: number,
    strict: boolean,
  ): ClassifierRunner {
    const { store } = ParameterStore.fromStateDict(modelSpecs(model), stateDict, { strict });
    return new ClassifierRunner(model, store, lr);
  }

  /** One SGD step on a batch; returns the loss and the number of correct training-mode predictions. */
  step(images: Float32Array, shape: readonly number[], labels: Int32Array): StepResult {
    const ops = this.#ops;
    if (this.model.architecture === 'lilnet') {
      // The same step as lilnetTrainingStep, keeping the aggregated logits for the training accuracy.
      const config = lilnetConfig(this.model.numClasses, this.model.trunk);
      this.sgd.zeroGrad();
      const result = scope(() => {
        const outputs = lilnetForward(ops, this.store.lookup, config, tensor(images, shape), {
          training: true,
        });
        const loss = lilnetLoss(ops, outputs, labels, config.numClasses);
        loss.total.backward();
        return {
          loss: loss.total.item(),
          correct: countCorrect(outputs.aggregated.toFloat32Array(), labels, config.numClasses),
        };
      });
      this.sgd.step();
      return result;
    }
    const config = resnetClassifierConfig(this.model.numClasses, this.model.trunk);
    this.sgd.zeroGrad();
    const result = scope(() => {
      const logits = resnetClassifierForward(ops, this.store.lookup, config, tensor(images, shape), {
        training: true,
      });
      const loss = ops.crossEntropy(logits, labels);
      loss.backward();
      return {
        loss: loss.item(),
        correct: countCorrect(logits.toFloat32Array(), labels, this.model.numClasses),
      };
    });
    this.sgd.step();
    return result;
  }

  /** Evaluation-mode scores `[N, K]` (row-major) of a batch, without autograd. */
  scores(images: Float32Array, shape: readonly number[]): Float32Array {
    const ops = this.#ops;
    return noGrad(() =>
      scope(() => {
        const input = tensor(images, shape);
        if (this.model.architecture === 'lilnet') {
          const config = lilnetConfig(this.model.numClasses, this.model.trunk);
          return lilnetForward(ops, this.store.lookup, config, input, {
            training: false,
          }).aggregated.toFloat32Array();
        }
        const config = resnetClassifierConfig(this.model.numClasses, this.model.trunk);
        return resnetClassifierForward(ops, this.store.lookup, config, input, {
          training: false,
        }).toFloat32Array();
      }),
    );
  }

  /** Returns the optimiser state for a checkpoint: settings and momentum buffers by parameter name. */
  optimizerState(): SgdCheckpointState {
    const names = this.store.trainableNames();
    const momentumBuffers = new Map<string, CheckpointTensor>();
    this.sgd.momentumBuffers().forEach((buffer, i) => {
      if (buffer)
        momentumBuffers.set(names[i], {
          shape: [...buffer.shape],
          dtype: 'float32',
          data: buffer.toFloat32Array(),
        });
    });
    return {
      kind: 'sgd',
      lr: this.sgd.lr,
      momentum: this.sgd.momentum,
      dampening: this.sgd.dampening,
      weightDecay: this.sgd.weightDecay,
      nesterov: this.sgd.nesterov,
      momentumBuffers,
    };
  }

  /** Restores momentum buffers from a checkpoint written by {@link optimizerState}. */
  loadOptimizerState(state: SgdCheckpointState): void {
    const names = this.store.trainableNames();
    this.sgd.loadMomentumBuffers(names.map((name) => state.momentumBuffers.get(name)?.data ?? null));
  }

  checkpoint(
    epoch: number,
    config: Record<string, unknown>,
    metrics: Record<string, number>,
  ): TrainingCheckpoint {
    return {
      model: this.model,
      epoch,
      stateDict: this.store.toStateDict(),
      optimizer: this.optimizerState(),
      config,
      metrics,
    };
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** Number of rows of row-major logits `[N, K]` whose argmax equals the label. */
export function countCorrect(logits: Float32Array, labels: Int32Array, classCount: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < classCount; k++)
      if (logits[i * classCount + k] > logits[i * classCount + best]) best = k;
    if (best === labels[i]) correct++;
  }
  return correct;
}
