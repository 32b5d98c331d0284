/**
 * The operation interface that every model is written against. A model is defined once, as a forward function
 * over `Ops<T>`, and runs on any backend that implements it:
 * - the libtorch backend executes eagerly, with autograd, for training and parity tests;
 * - the ONNX backend records the same calls into an ONNX graph for export and ONNX Runtime inference.
 *
 * Tensors are NCHW float32. A backend owns the lifetime of its tensors; a model function never disposes of
 * its inputs or parameters.
 */

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export interface BatchNormOptions {
  /** True: normalise with batch statistics and update the running statistics in place (training). */
  training: boolean;
  momentum: number;
  eps: number;
}

export interface Ops<T> {
  /** A constant tensor that is not a parameter (masks, selection matrices). */
  constant(data: Float32Array, shape: readonly number[], name?: string): T;

  conv2d(x: T, weight: T, bias: T | null, options?: Conv2dOptions): T;
  batchNorm2d(x: T, weight: T, bias: T, runningMean: T, runningVar: T, options: BatchNormOptions): T;
  /** `x @ weight^T + bias`, weight of shape [out, in], as torch.nn.Linear. */
  linear(x: T, weight: T, bias: T | null): T;
  maxPool2d(x: T, kernel: number, stride: number, padding: number): T;
  /** Mean over H and W: [N, C, H, W] -> [N, C]. */
  globalAvgPool2d(x: T): T;
  /** Nearest-neighbour upsampling of H and W by an integer factor. */
  upsampleNearest2d(x: T, scale: number): T;

  relu(x: T): T;
  silu(x: T): T;
  sigmoid(x: T): T;
  softmax(x: T, dim: number): T;
  logSoftmax(x: T, dim: number): T;

  /** Elementwise with NumPy broadcasting. */
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  mulScalar(x: T, value: number): T;

  reshape(x: T, shape: readonly number[]): T;
  /** Permutes dimensions, as torch.permute. */
  permute(x: T, dims: readonly number[]): T;
  concat(xs: readonly T[], dim: number): T;
  /** Slice along one dimension, half-open [start, end). */
  slice(x: T, dim: number, start: number, end: number): T;
  /** Sum over the given dimensions; `keepDims` as torch.sum(keepdim). */
  sum(x: T, dims: readonly number[], keepDims?: boolean): T;
  mean(x: T, dims: readonly number[], keepDims?: boolean): T;

  /** The static shape of a tensor. Exported graphs keep dimension 0 (batch) dynamic. */
  shape(x: T): readonly number[];
}

/** How a parameter or buffer is initialised when a model is built from scratch. */
export type ParameterInit =
  | { kind: 'kaiming-normal-fan-out-relu' }
  | { kind: 'constant'; value: number }
  | { kind: 'uniform-fan-in'; fanIn: number };

/** One named tensor of a model, with the name torchvision and the authors' checkpoints use. */
export interface ParameterSpec {
  name: string;
  shape: number[];
  init: ParameterInit;
  /** True for learnable parameters; false for buffers such as batch-norm running statistics. */
  trainable: boolean;
}

/** Looks up a parameter or buffer by its torchvision-style name, e.g. `layer3.0.downsample.0.weight`. */
export type ParameterLookup<T> = (name: string) => T;
