/**
 * One LiLNet training step on libtorch: forward in training mode, the LiLNet loss, backward, SGD update.
 * Every intermediate tensor is released before it returns.
 */
import { LilnetError } from '../../errors.ts';
import { lilnetForward, lilnetLoss, type LilnetConfig, type LilnetLossOptions } from '../../nn/lilnet.ts';
import type { Sgd } from './optim.ts';
import { TorchOps } from './ops.ts';
import type { ParameterStore } from './parameters.ts';
import { scope, tensor } from './tensor.ts';

export interface LilnetStepLoss {
  total: number;
  ceLayer4Joint: number;
  ceLayer3Joint: number;
  klTimesT2: number;
  ceSelfDistillation: number;
}

/** Runs one step on a batch of NCHW `images` (`shape` [B, 3, H, W]) with class `labels`; returns the loss terms. */
export function lilnetTrainingStep(
  store: ParameterStore,
  sgd: Sgd,
  config: LilnetConfig,
  images: Float32Array,
  shape: readonly number[],
  labels: Int32Array,
  lossOptions: LilnetLossOptions = {},
): LilnetStepLoss {
  if (shape[0] !== labels.length) {
    throw new LilnetError('INVALID_ARGUMENT', `${labels.length} labels for a batch of ${shape[0]} images`);
  }
  const ops = new TorchOps();
  sgd.zeroGrad();
  const result = scope(() => {
    const outputs = lilnetForward(ops, store.lookup, config, tensor(images, shape), { training: true });
    const loss = lilnetLoss(ops, outputs, labels, config.numClasses, lossOptions);
    loss.total.backward();
    return {
      total: loss.total.item(),
      ceLayer4Joint: loss.ceLayer4Joint.item(),
      ceLayer3Joint: loss.ceLayer3Joint.item(),
      klTimesT2: loss.klTimesT2.item(),
      ceSelfDistillation: loss.ceSelfDistillation.item(),
    };
  });
  sgd.step();
  return result;
}
