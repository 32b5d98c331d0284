/**
 * Moves a model's parameters and its SGD state between libtorch and lilnet's training checkpoint format.
 */
import { LilnetError } from '../../errors.ts';
import type { CheckpointTensor, TrainingCheckpoint } from '../../nn/checkpoint/lilnet-checkpoint.ts';
import type { ModelConfig } from '../../nn/models.ts';
import type { Sgd } from './optim.ts';
import type { ParameterStore } from './parameters.ts';

export interface CaptureOptions {
  model: ModelConfig;
  store: ParameterStore;
  sgd?: Sgd;
  epoch: number;
  config?: Record<string, unknown>;
  metrics?: Record<string, number>;
}

/** Copies the current weights, buffers and momentum buffers into a checkpoint ready to write. */
export function captureTrainingCheckpoint(options: CaptureOptions): TrainingCheckpoint {
  const { store, sgd } = options;
  let optimizer: TrainingCheckpoint['optimizer'] = null;
  if (sgd) {
    const names = store.trainableNames();
    if (names.length !== sgd.params.length) {
      throw new LilnetError(
        'INTERNAL',
        `the optimiser has ${sgd.params.length} parameters; the model has ${names.length}`,
      );
    }
    const momentumBuffers = new Map<string, CheckpointTensor>();
    sgd.momentumBuffers().forEach((buffer, i) => {
      if (buffer)
        momentumBuffers.set(names[i], {
          shape: [...buffer.shape],
          dtype: 'float32',
          data: buffer.toFloat32Array(),
        });
    });
    optimizer = {
      kind: 'sgd',
      lr: sgd.lr,
      momentum: sgd.momentum,
      dampening: sgd.dampening,
      weightDecay: sgd.weightDecay,
      nesterov: sgd.nesterov,
      momentumBuffers,
    };
  }
  return {
    model: options.model,
    epoch: options.epoch,
    stateDict: store.toStateDict(),
    optimizer,
    config: options.config ?? {},
    metrics: options.metrics ?? {},
  };
}

/**
 * Loads a checkpoint's momentum buffers and learning rate into `sgd`, whose parameters must be
 * `store.trainableParameters()`. A checkpoint without optimiser state leaves `sgd` fresh.
 */
export function restoreSgdState(sgd: Sgd, store: ParameterStore, checkpoint: TrainingCheckpoint): void {
  if (!checkpoint.optimizer) return;
  const names = store.trainableNames();
  const buffers = checkpoint.optimizer.momentumBuffers;
  for (const name of buffers.keys()) {
    if (!names.includes(name)) {
      throw new LilnetError(
        'CHECKPOINT_MISMATCH',
        `checkpoint has a momentum buffer for ${name}, which the model lacks`,
      );
    }
  }
  sgd.loadMomentumBuffers(names.map((name) => buffers.get(name)?.data ?? null));
  sgd.lr = checkpoint.optimizer.lr;
}
