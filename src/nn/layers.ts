/**
 * Parameter specs and forward helpers of the layers that ResNet-50 and LiLNet are built from, with torchvision's
 * parameter names (`<prefix>.weight`, `<prefix>.running_mean`, ...).
 */
import type { Conv2dOptions, Ops, ParameterLookup, ParameterSpec } from './ops.ts';

/** Batch-norm settings of torchvision's ResNet (torch.nn.BatchNorm2d defaults). */
export const BATCH_NORM_MOMENTUM = 0.1;
export const BATCH_NORM_EPS = 1e-5;

/** Specifies a bias-free convolution weight `[out, in, k, k]`, Kaiming-normal (fan-out, ReLU gain). */
export function conv2dSpecs(
  prefix: string,
  inChannels: number,
  outChannels: number,
  kernel: number,
): ParameterSpec[] {
  return [
    {
      name: `${prefix}.weight`,
      shape: [outChannels, inChannels, kernel, kernel],
      init: { kind: 'kaiming-normal-fan-out-relu' },
      trainable: true,
    },
  ];
}

/** Specifies a batch norm over `channels`: weight 1, bias 0, running mean 0, running variance 1. */
export function batchNorm2dSpecs(prefix: string, channels: number): ParameterSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [channels], init: { kind: 'constant', value: 1 }, trainable: true },
    { name: `${prefix}.bias`, shape: [channels], init: { kind: 'constant', value: 0 }, trainable: true },
    {
      name: `${prefix}.running_mean`,
      shape: [channels],
      init: { kind: 'constant', value: 0 },
      trainable: false,
    },
    {
      name: `${prefix}.running_var`,
      shape: [channels],
      init: { kind: 'constant', value: 1 },
      trainable: false,
    },
  ];
}

/** Specifies a linear layer `in -> out` with PyTorch's default initialisation (uniform in +-1/sqrt(in)). */
export function linearSpecs(prefix: string, inFeatures: number, outFeatures: number): ParameterSpec[] {
  return [
    {
      name: `${prefix}.weight`,
      shape: [outFeatures, inFeatures],
      init: { kind: 'uniform-fan-in', fanIn: inFeatures },
      trainable: true,
    },
    {
      name: `${prefix}.bias`,
      shape: [outFeatures],
      init: { kind: 'uniform-fan-in', fanIn: inFeatures },
      trainable: true,
    },
  ];
}

export function conv2d<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  prefix: string,
  x: T,
  options: Conv2dOptions = {},
): T {
  return ops.conv2d(x, p(`${prefix}.weight`), null, options);
}

/** Batch norm with batch statistics (and running-statistic updates) when `training`, running statistics otherwise. */
export function batchNorm2d<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  prefix: string,
  x: T,
  training: boolean,
): T {
  return ops.batchNorm2d(
    x,
    p(`${prefix}.weight`),
    p(`${prefix}.bias`),
    p(`${prefix}.running_mean`),
    p(`${prefix}.running_var`),
    { training, momentum: BATCH_NORM_MOMENTUM, eps: BATCH_NORM_EPS },
  );
}

export function linear<T>(ops: Ops<T>, p: ParameterLookup<T>, prefix: string, x: T): T {
  return ops.linear(x, p(`${prefix}.weight`), p(`${prefix}.bias`));
}
