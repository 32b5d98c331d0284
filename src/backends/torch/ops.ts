/**
 * `TorchOps`: the {@link Ops} interface executed eagerly on libtorch, with autograd, plus the loss operations
 * of {@link LossOps}. Every result is a new {@link TorchTensor} registered in the current scope.
 */
import { LilnetError } from '../../errors.ts';
import type { BatchNormOptions, Conv2dOptions, Ops } from '../../nn/ops.ts';
import type { LossOps } from '../../nn/loss-ops.ts';
import { callNative, type NativeHandle, type NativeTorch } from './native.ts';
import { TorchTensor, int64Tensor, tensor } from './tensor.ts';

function pair(value: number | [number, number] | undefined, fallback: number): number[] {
  if (value === undefined) return [fallback, fallback];
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

export class TorchOps implements Ops<TorchTensor>, LossOps<TorchTensor> {
  constant(data: Float32Array, shape: readonly number[]): TorchTensor {
    return tensor(data, shape);
  }

  conv2d(
    x: TorchTensor,
    weight: TorchTensor,
    bias: TorchTensor | null,
    options: Conv2dOptions = {},
  ): TorchTensor {
    const stride = pair(options.stride, 1);
    const padding = pair(options.padding, 0);
    const dilation = pair(options.dilation, 1);
    const groups = options.groups ?? 1;
    requireIntegers('conv2d', 'stride', stride);
    requireIntegers('conv2d', 'padding', padding);
    requireIntegers('conv2d', 'dilation', dilation);
    requireIntegers('conv2d', 'groups', [groups]);
    return wrap('conv2d', (t) =>
      t.conv2d(x.handle, weight.handle, bias ? bias.handle : null, stride, padding, dilation, groups),
    );
  }

  batchNorm2d(
    x: TorchTensor,
    weight: TorchTensor,
    bias: TorchTensor,
    runningMean: TorchTensor,
    runningVar: TorchTensor,
    options: BatchNormOptions,
  ): TorchTensor {
    return wrap('batchNorm2d', (t) =>
      t.batchNorm(
        x.handle,
        weight.handle,
        bias.handle,
        runningMean.handle,
        runningVar.handle,
        options.training,
        options.momentum,
        options.eps,
      ),
    );
  }

  linear(x: TorchTensor, weight: TorchTensor, bias: TorchTensor | null): TorchTensor {
    return wrap('linear', (t) => t.linear(x.handle, weight.handle, bias ? bias.handle : null));
  }

  maxPool2d(x: TorchTensor, kernel: number, stride: number, padding: number): TorchTensor {
    requireIntegers('maxPool2d', 'kernel, stride or padding', [kernel, stride, padding]);
    return wrap('maxPool2d', (t) => t.maxPool2d(x.handle, kernel, stride, padding));
  }

  globalAvgPool2d(x: TorchTensor): TorchTensor {
    if (x.shape.length !== 4) {
      throw new LilnetError(
        'INVALID_ARGUMENT',
        `globalAvgPool2d needs an NCHW tensor, not shape [${x.shape.join(', ')}]`,
      );
    }
    return wrap('globalAvgPool2d', (t) => t.mean(x.handle, [2, 3], false));
  }

  upsampleNearest2d(x: TorchTensor, scale: number): TorchTensor {
    return wrap('upsampleNearest2d', (t) => t.upsampleNearest2d(x.handle, scale));
  }

  relu(x: TorchTensor): TorchTensor {
    return wrap('relu', (t) => t.relu(x.handle));
  }

  silu(x: TorchTensor): TorchTensor {
    return wrap('silu', (t) => t.silu(x.handle));
  }

  sigmoid(x: TorchTensor): TorchTensor {
    return wrap('sigmoid', (t) => t.sigmoid(x.handle));
  }

  softmax(x: TorchTensor, dim: number): TorchTensor {
    requireIntegers('softmax', 'dim', [dim]);
    return wrap('softmax', (t) => t.softmax(x.handle, dim));
  }

  logSoftmax(x: TorchTensor, dim: number): TorchTensor {
    requireIntegers('logSoftmax', 'dim', [dim]);
    return wrap('logSoftmax', (t) => t.logSoftmax(x.handle, dim));
  }

  add(a: TorchTensor, b: TorchTensor): TorchTensor {
    return wrap('add', (t) => t.add(a.handle, b.handle));
  }

  sub(a: TorchTensor, b: TorchTensor): TorchTensor {
    return wrap('sub', (t) => t.sub(a.handle, b.handle));
  }

  mul(a: TorchTensor, b: TorchTensor): TorchTensor {
    return wrap('mul', (t) => t.mul(a.handle, b.handle));
  }

  mulScalar(x: TorchTensor, value: number): TorchTensor {
    return wrap('mulScalar', (t) => t.mulScalar(x.handle, value));
  }

  reshape(x: TorchTensor, shape: readonly number[]): TorchTensor {
    requireIntegers('reshape', 'shape', shape);
    return wrap('reshape', (t) => t.reshape(x.handle, shape));
  }

  permute(x: TorchTensor, dims: readonly number[]): TorchTensor {
    requireIntegers('permute', 'dims', dims);
    return wrap('permute', (t) => t.permute(x.handle, dims));
  }

  concat(xs: readonly TorchTensor[], dim: number): TorchTensor {
    requireIntegers('concat', 'dim', [dim]);
    return wrap('concat', (t) =>
      t.concat(
        xs.map((x) => x.handle),
        dim,
      ),
    );
  }

  slice(x: TorchTensor, dim: number, start: number, end: number): TorchTensor {
    requireIntegers('slice', 'dim, start or end', [dim, start, end]);
    return wrap('slice', (t) => t.slice(x.handle, dim, start, end));
  }

  sum(x: TorchTensor, dims: readonly number[], keepDims = false): TorchTensor {
    requireIntegers('sum', 'dims', dims);
    return wrap('sum', (t) => t.sum(x.handle, dims, keepDims));
  }

  mean(x: TorchTensor, dims: readonly number[], keepDims = false): TorchTensor {
    requireIntegers('mean', 'dims', dims);
    return wrap('mean', (t) => t.mean(x.handle, dims, keepDims));
  }

  shape(x: TorchTensor): readonly number[] {
    return x.shape;
  }

  detach(x: TorchTensor): TorchTensor {
    return wrap('detach', (t) => t.detach(x.handle));
  }

  crossEntropy(logits: TorchTensor, labels: Int32Array): TorchTensor {
    const rows = logits.shape[0];
    if (labels.length !== rows) {
      throw new LilnetError(
        'INVALID_ARGUMENT',
        `crossEntropy: ${labels.length} labels for ${rows} rows of logits`,
      );
    }
    const labelTensor = int64Tensor(labels);
    try {
      return wrap('crossEntropy', (t) => t.crossEntropy(logits.handle, labelTensor.handle));
    } finally {
      labelTensor.dispose();
    }
  }

  klDivBatchmean(logQ: TorchTensor, p: TorchTensor): TorchTensor {
    return wrap('klDivBatchmean', (t) => t.klDivBatchmean(logQ.handle, p.handle));
  }
}

/** Rejects a non-integer size or dim, because the addon would truncate it to int64 without a word. */
function requireIntegers(call: string, name: string, values: readonly number[]): void {
  const badIndex = values.findIndex((value) => !Number.isInteger(value));
  if (badIndex >= 0) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `torch ${call}: ${name} value ${values[badIndex]} is not an integer`,
      {
        hint: 'pass whole numbers for sizes, dims and indices',
      },
    );
  }
}

function wrap(call: string, run: (torch: NativeTorch) => NativeHandle): TorchTensor {
  return new TorchTensor(callNative(call, run));
}
