/**
 * Loads the libtorch addon (native/build/Release/lilnet_torch.node) and describes its functions. Every call
 * goes through {@link callNative}, which turns a native exception into a `LilnetError` with code
 * `TORCH_OP_FAILED` whose message names the addon function.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LilnetError } from '../../errors.ts';

/** An opaque native tensor handle; {@link TorchTensor} wraps it. */
export interface NativeHandle {
  dispose(): void;
  isDisposed(): boolean;
}

type H = NativeHandle;
type NativeDtype = 'float32' | 'float64' | 'int64';

/** The functions the addon exports (native/src/*.cc). */
export interface NativeTorch {
  fromFloat32(data: Float32Array, shape: readonly number[]): H;
  fromFloat64(data: Float64Array, shape: readonly number[]): H;
  fromInt32(data: Int32Array, shape: readonly number[]): H;
  toFloat32Array(x: H): Float32Array;
  toFloat64Array(x: H): Float64Array;
  shape(x: H): number[];
  dtype(x: H): 'float32' | 'float64' | 'int64' | 'int32' | 'other';
  zeros(shape: readonly number[], dtype: NativeDtype): H;
  toDtype(x: H, dtype: NativeDtype): H;
  clone(x: H): H;
  copyInto(destination: H, source: H): void;
  liveTensorCount(): number;
  emptyCache(): void;
  cachedBytes(): number;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  version(): string;

  conv2d(
    x: H,
    weight: H,
    bias: H | null,
    stride: number[],
    padding: number[],
    dilation: number[],
    groups: number,
  ): H;
  batchNorm(
    x: H,
    weight: H,
    bias: H,
    runningMean: H,
    runningVar: H,
    training: boolean,
    momentum: number,
    eps: number,
  ): H;
  linear(x: H, weight: H, bias: H | null): H;
  maxPool2d(x: H, kernel: number, stride: number, padding: number): H;
  upsampleNearest2d(x: H, scale: number): H;
  relu(x: H): H;
  silu(x: H): H;
  sigmoid(x: H): H;
  exp(x: H): H;
  log(x: H): H;
  neg(x: H): H;
  detach(x: H): H;
  softmax(x: H, dim: number): H;
  logSoftmax(x: H, dim: number): H;
  add(a: H, b: H): H;
  sub(a: H, b: H): H;
  mul(a: H, b: H): H;
  div(a: H, b: H): H;
  matmul(a: H, b: H): H;
  mulScalar(x: H, value: number): H;
  addScalar(x: H, value: number): H;
  reshape(x: H, shape: readonly number[]): H;
  permute(x: H, dims: readonly number[]): H;
  concat(xs: readonly H[], dim: number): H;
  slice(x: H, dim: number, start: number, end: number): H;
  sum(x: H, dims: readonly number[], keepDims: boolean): H;
  mean(x: H, dims: readonly number[], keepDims: boolean): H;
  crossEntropy(logits: H, labels: H): H;
  klDivBatchmean(logQ: H, p: H): H;

  setRequiresGrad(x: H, requiresGrad: boolean): void;
  requiresGrad(x: H): boolean;
  backward(x: H, gradOutput: H | null): void;
  grad(x: H): H | null;
  zeroGrad(xs: readonly H[], setToNone: boolean): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  sgdStep(
    params: readonly H[],
    momentumBuffers: readonly (H | null)[],
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
  ): (H | null)[];
}

export const ADDON_PATH = fileURLToPath(
  new URL('../../../native/build/Release/lilnet_torch.node', import.meta.url),
);

let addon: NativeTorch | undefined;

/** Returns the loaded addon, loading it on first use. */
export function nativeTorch(): NativeTorch {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new LilnetError('TORCH_ADDON_MISSING', `the libtorch addon ${ADDON_PATH} has not been built`, {
      hint:
        'install libtorch (`apt-get install libtorch-dev libopenblas0-pthread`, or set LIBTORCH to an unpacked ' +
        'libtorch) and run `node native/build.mjs`',
      file: ADDON_PATH,
    });
  }
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as NativeTorch;
  } catch (error) {
    throw new LilnetError(
      'TORCH_ADDON_MISSING',
      `the libtorch addon ${ADDON_PATH} failed to load: ${String(error)}`,
      {
        hint: 'rebuild it with `node native/build.mjs --rebuild`; with LIBTORCH set, check that its lib/ is still there',
        file: ADDON_PATH,
        cause: error,
      },
    );
  }
  return addon;
}

/** True when the addon is built and loads; for tests and commands that can fall back to another engine. */
export function isTorchAvailable(): boolean {
  try {
    nativeTorch();
    return true;
  } catch {
    return false;
  }
}

/** Runs one addon call, translating a native exception into a `TORCH_OP_FAILED` error that names the call. */
export function callNative<R>(call: string, run: (torch: NativeTorch) => R): R {
  const torch = nativeTorch();
  try {
    return run(torch);
  } catch (error) {
    if (
      error instanceof LilnetError &&
      error.code === 'TORCH_TENSOR_DISPOSED' &&
      !error.message.startsWith('torch ')
    ) {
      throw new LilnetError('TORCH_TENSOR_DISPOSED', `torch ${call}: ${error.message}`, {
        hint: error.hint,
        cause: error,
      });
    }
    if (error instanceof LilnetError) throw error;
    let message = error instanceof Error ? error.message : String(error);
    // The addon prefixes its messages with the native function's name; the error message names the call once.
    const nativeCall = (error as { torchCall?: unknown }).torchCall;
    if (typeof nativeCall === 'string' && message.startsWith(`${nativeCall}: `)) {
      message = message.slice(nativeCall.length + 2);
    }
    throw new LilnetError('TORCH_OP_FAILED', `torch ${call} failed: ${message}`, {
      hint: 'check the shapes and dtypes passed to this operation',
      cause: error,
    });
  }
}
