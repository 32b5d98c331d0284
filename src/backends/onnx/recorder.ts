/**
 * Records the calls of a model written against `Ops<T>` into an ONNX graph (opset 17, inference only).
 *
 * Values carry the shape they have for a trace batch size, so that `shape()` returns numbers as the eager
 * backend does, plus the index of the one dimension that scales with the batch (`batchDim`). Ops that take
 * shapes or ranges (reshape, slice) are written so that this dimension stays dynamic in the graph: a reshape
 * writes -1 at the batch dimension, a slice over the whole batch dimension ends at INT64_MAX. A model that
 * mixes the batch with other dimensions in a way these rules cannot express is rejected at export time.
 */
import type { BatchNormOptions, Conv2dOptions, Ops } from '../../nn/ops.ts';
import type { AttributeValue, OnnxInitializer, OnnxNode } from './onnx-proto.ts';

export interface OnnxValue {
  readonly name: string;
  /** Shape for the trace batch size. */
  readonly shape: readonly number[];
  /** Index of the dimension that scales with the batch, or null for values independent of the batch. */
  readonly batchDim: number | null;
}

const INT64_MAX = 2n ** 63n - 1n;

function pair(value: number | [number, number] | undefined, fallback: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  return typeof value === 'number' ? [value, value] : value;
}

function normalizeAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new RangeError(`${what}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

export class OnnxOps implements Ops<OnnxValue> {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;
  private readonly recorded = new Map<string, OnnxValue>();
  private readonly int64Constants = new Map<string, string>();
  private readonly namedConstants = new Map<string, { data: Float32Array; value: OnnxValue }[]>();

  /** @param traceBatchSize batch size that shapes are traced with; 2 keeps the batch distinct from size-1 dims. */
  constructor(readonly traceBatchSize = 2) {}

  private uniqueName(base: string): string {
    let name = base;
    while (this.usedNames.has(name)) name = `${base}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  private node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue>,
    shape: readonly number[],
    batchDim: number | null,
  ): OnnxValue {
    // Common-subexpression elimination: recording the same op on the same inputs again returns the first
    // result, so a caller can re-run part of a model (to reach an inner feature map) without duplicating it.
    const key = `${opType}|${inputs.join(',')}|${JSON.stringify(attributes)}`;
    const existing = this.recorded.get(key);
    if (existing) return existing;
    const output = this.uniqueName(`${opType}_${this.nodes.length}`);
    this.nodes.push({
      opType,
      name: `${opType}_node_${this.nodes.length}`,
      inputs,
      outputs: [output],
      attributes,
    });
    const value = { name: output, shape, batchDim };
    this.recorded.set(key, value);
    return value;
  }

  private int64Constant(values: readonly (number | bigint)[], base: string): string {
    const key = `${base}|${values.join(',')}`;
    const existing = this.int64Constants.get(key);
    if (existing) return existing;
    const name = this.uniqueName(`${base}_${this.initializers.length}`);
    this.initializers.push({
      name,
      dims: [values.length],
      data: BigInt64Array.from(values, (v) => BigInt(v)),
    });
    return name;
  }

  /** Declares a graph input whose dimension 0 is the batch; `shape[0]` is ignored and replaced by the trace batch. */
  input(name: string, shape: readonly number[]): OnnxValue {
    if (this.usedNames.has(name)) throw new Error(`ONNX value name ${name} is already used`);
    this.usedNames.add(name);
    return { name, shape: [this.traceBatchSize, ...shape.slice(1)], batchDim: 0 };
  }

  /** Adds a float32 initializer under exactly `name` (model parameters keep their torchvision names). */
  initializer(name: string, data: Float32Array, shape: readonly number[]): OnnxValue {
    if (data.length !== product(shape)) {
      throw new Error(`initializer ${name}: ${data.length} values do not fill shape [${shape.join(', ')}]`);
    }
    if (this.usedNames.has(name)) throw new Error(`ONNX value name ${name} is already used`);
    this.usedNames.add(name);
    return this.addInitializer(name, data, shape);
  }

  private addInitializer(name: string, data: Float32Array, shape: readonly number[]): OnnxValue {
    this.initializers.push({ name, dims: [...shape], data });
    return { name, shape: [...shape], batchDim: null };
  }

  /** Renames a value for a graph output with an Identity node, so any intermediate value can be exposed. */
  identity(x: OnnxValue, outputName: string): OnnxValue {
    if (this.usedNames.has(outputName)) throw new Error(`ONNX value name ${outputName} is already used`);
    this.usedNames.add(outputName);
    this.nodes.push({
      opType: 'Identity',
      name: `Identity_${outputName}`,
      inputs: [x.name],
      outputs: [outputName],
      attributes: {},
    });
    return { name: outputName, shape: x.shape, batchDim: x.batchDim };
  }

  constant(data: Float32Array, shape: readonly number[], name?: string): OnnxValue {
    if (data.length !== product(shape)) {
      throw new Error(
        `constant ${name ?? ''}: ${data.length} values do not fill shape [${shape.join(', ')}]`,
      );
    }
    const key = `${name ?? 'constant'}|${shape.join(',')}`;
    const candidates = this.namedConstants.get(key) ?? [];
    const same = candidates.find((c) => c.data.every((v, i) => Object.is(v, data[i])));
    if (same) return same.value;
    const value = this.addInitializer(
      this.uniqueName(name ?? `constant_${this.initializers.length}`),
      data.slice(),
      shape,
    );
    candidates.push({ data: data.slice(), value });
    this.namedConstants.set(key, candidates);
    return value;
  }

  conv2d(x: OnnxValue, weight: OnnxValue, bias: OnnxValue | null, options: Conv2dOptions = {}): OnnxValue {
    const [sh, sw] = pair(options.stride, 1);
    const [ph, pw] = pair(options.padding, 0);
    const [dh, dw] = pair(options.dilation, 1);
    const groups = options.groups ?? 1;
    const [n, , h, w] = x.shape;
    const [outChannels, , kh, kw] = weight.shape;
    const outH = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
    const outW = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    const inputs = bias ? [x.name, weight.name, bias.name] : [x.name, weight.name];
    return this.node(
      'Conv',
      inputs,
      {
        kernel_shape: [kh, kw],
        strides: [sh, sw],
        pads: [ph, pw, ph, pw],
        dilations: [dh, dw],
        group: groups,
      },
      [n, outChannels, outH, outW],
      x.batchDim,
    );
  }

  batchNorm2d(
    x: OnnxValue,
    weight: OnnxValue,
    bias: OnnxValue,
    runningMean: OnnxValue,
    runningVar: OnnxValue,
    options: BatchNormOptions,
  ): OnnxValue {
    if (options.training)
      throw new Error('ONNX export records inference graphs only: batch norm must run in eval mode');
    return this.node(
      'BatchNormalization',
      [x.name, weight.name, bias.name, runningMean.name, runningVar.name],
      { epsilon: { float: options.eps }, momentum: { float: 1 - options.momentum } },
      x.shape,
      x.batchDim,
    );
  }

  linear(x: OnnxValue, weight: OnnxValue, bias: OnnxValue | null): OnnxValue {
    const outFeatures = weight.shape[0];
    const shape = [...x.shape.slice(0, -1), outFeatures];
    if (x.batchDim === x.shape.length - 1)
      throw new Error('linear over the batch dimension cannot be exported');
    if (x.shape.length === 2) {
      const inputs = bias ? [x.name, weight.name, bias.name] : [x.name, weight.name];
      return this.node('Gemm', inputs, { transB: 1 }, shape, x.batchDim);
    }
    const transposed = this.node(
      'Transpose',
      [weight.name],
      { perm: [1, 0] },
      [weight.shape[1], outFeatures],
      null,
    );
    const product = this.node('MatMul', [x.name, transposed.name], {}, shape, x.batchDim);
    return bias ? this.node('Add', [product.name, bias.name], {}, shape, x.batchDim) : product;
  }

  maxPool2d(x: OnnxValue, kernel: number, stride: number, padding: number): OnnxValue {
    const [n, c, h, w] = x.shape;
    const outH = Math.floor((h + 2 * padding - kernel) / stride) + 1;
    const outW = Math.floor((w + 2 * padding - kernel) / stride) + 1;
    return this.node(
      'MaxPool',
      [x.name],
      {
        kernel_shape: [kernel, kernel],
        strides: [stride, stride],
        pads: [padding, padding, padding, padding],
      },
      [n, c, outH, outW],
      x.batchDim,
    );
  }

  globalAvgPool2d(x: OnnxValue): OnnxValue {
    return this.mean(x, [2, 3], false);
  }

  upsampleNearest2d(x: OnnxValue, scale: number): OnnxValue {
    const [n, c, h, w] = x.shape;
    const scales = this.constant(new Float32Array([1, 1, scale, scale]), [4], 'resize_scales');
    // asymmetric + floor is PyTorch's 'nearest' for integer factors.
    return this.node(
      'Resize',
      [x.name, '', scales.name],
      { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
      [n, c, h * scale, w * scale],
      x.batchDim,
    );
  }

  relu(x: OnnxValue): OnnxValue {
    return this.node('Relu', [x.name], {}, x.shape, x.batchDim);
  }

  silu(x: OnnxValue): OnnxValue {
    return this.mul(x, this.sigmoid(x));
  }

  sigmoid(x: OnnxValue): OnnxValue {
    return this.node('Sigmoid', [x.name], {}, x.shape, x.batchDim);
  }

  softmax(x: OnnxValue, dim: number): OnnxValue {
    const axis = normalizeAxis(dim, x.shape.length, 'softmax');
    return this.node('Softmax', [x.name], { axis }, x.shape, x.batchDim);
  }

  logSoftmax(x: OnnxValue, dim: number): OnnxValue {
    const axis = normalizeAxis(dim, x.shape.length, 'logSoftmax');
    return this.node('LogSoftmax', [x.name], { axis }, x.shape, x.batchDim);
  }

  private broadcast(opType: string, a: OnnxValue, b: OnnxValue): OnnxValue {
    const rank = Math.max(a.shape.length, b.shape.length);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) {
      const da = a.shape[a.shape.length - rank + i] ?? 1;
      const db = b.shape[b.shape.length - rank + i] ?? 1;
      if (da !== db && da !== 1 && db !== 1) {
        throw new Error(
          `${opType}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast`,
        );
      }
      shape.push(Math.max(da, db));
    }
    const aligned = (v: OnnxValue): number | null =>
      v.batchDim === null ? null : v.batchDim + rank - v.shape.length;
    const batchA = aligned(a);
    const batchB = aligned(b);
    if (batchA !== null && batchB !== null && batchA !== batchB) {
      throw new Error(`${opType}: operands have their batch in different dimensions`);
    }
    return this.node(opType, [a.name, b.name], {}, shape, batchA ?? batchB);
  }

  add(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.broadcast('Add', a, b);
  }

  sub(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.broadcast('Sub', a, b);
  }

  mul(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.broadcast('Mul', a, b);
  }

  mulScalar(x: OnnxValue, value: number): OnnxValue {
    const scalar = this.constant(new Float32Array([value]), [], 'scalar');
    return this.broadcast('Mul', x, scalar);
  }

  reshape(x: OnnxValue, shape: readonly number[]): OnnxValue {
    const resolved = [...shape];
    const inferred = resolved.indexOf(-1);
    if (inferred >= 0) {
      const known = product(resolved.filter((_, i) => i !== inferred));
      resolved[inferred] = product(x.shape) / known;
    }
    if (product(resolved) !== product(x.shape) || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`reshape: [${x.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    }
    let batchDim: number | null = null;
    const target: number[] = [...resolved];
    if (x.batchDim !== null) {
      // The batch dimension of the output is where the product of the leading static dims matches the input's.
      const prefix = product(x.shape.slice(0, x.batchDim));
      let running = 1;
      for (let d = 0; d < resolved.length; d++) {
        if (running === prefix && resolved[d] % this.traceBatchSize === 0) {
          batchDim = d;
          break;
        }
        running *= resolved[d];
      }
      if (batchDim === null) {
        throw new Error(
          `reshape [${x.shape.join(', ')}] -> [${shape.join(', ')}] mixes the batch with other dimensions`,
        );
      }
      target[batchDim] = -1;
    }
    const shapeName = this.int64Constant(target, 'reshape_shape');
    return this.node('Reshape', [x.name, shapeName], {}, resolved, batchDim);
  }

  permute(x: OnnxValue, dims: readonly number[]): OnnxValue {
    const perm = dims.map((d) => normalizeAxis(d, x.shape.length, 'permute'));
    const shape = perm.map((d) => x.shape[d]);
    const batchDim = x.batchDim === null ? null : perm.indexOf(x.batchDim);
    return this.node('Transpose', [x.name], { perm }, shape, batchDim);
  }

  concat(xs: readonly OnnxValue[], dim: number): OnnxValue {
    if (xs.length === 0) throw new Error('concat of no tensors');
    const axis = normalizeAxis(dim, xs[0].shape.length, 'concat');
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((total, x) => total + x.shape[axis], 0);
    const batchDims = new Set(xs.map((x) => x.batchDim).filter((d) => d !== null));
    if (batchDims.size > 1) throw new Error('concat: inputs have their batch in different dimensions');
    const [batchDim = null] = [...batchDims];
    return this.node(
      'Concat',
      xs.map((x) => x.name),
      { axis },
      shape,
      batchDim,
    );
  }

  slice(x: OnnxValue, dim: number, start: number, end: number): OnnxValue {
    const axis = normalizeAxis(dim, x.shape.length, 'slice');
    const size = x.shape[axis];
    const from = Math.max(0, Math.min(size, start < 0 ? start + size : start));
    const to = Math.max(from, Math.min(size, end < 0 ? end + size : end));
    let endValue: number | bigint = to;
    if (axis === x.batchDim) {
      if (from !== 0 || to !== size) throw new Error('slice: only the whole batch dimension can be exported');
      endValue = INT64_MAX;
    }
    const shape = [...x.shape];
    shape[axis] = to - from;
    const starts = this.int64Constant([from], 'slice_starts');
    const ends = this.int64Constant([endValue], 'slice_ends');
    const axes = this.int64Constant([axis], 'slice_axes');
    return this.node('Slice', [x.name, starts, ends, axes], {}, shape, x.batchDim);
  }

  private reduce(
    opType: 'ReduceSum' | 'ReduceMean',
    x: OnnxValue,
    dims: readonly number[],
    keepDims: boolean,
  ): OnnxValue {
    const axes = [...new Set(dims.map((d) => normalizeAxis(d, x.shape.length, opType)))].sort(
      (a, b) => a - b,
    );
    const shape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    let batchDim = x.batchDim;
    if (batchDim !== null) {
      if (axes.includes(batchDim)) batchDim = null;
      else if (!keepDims) batchDim -= axes.filter((a) => a < (x.batchDim as number)).length;
    }
    const keepdims = keepDims ? 1 : 0;
    // Opset 17 takes ReduceSum's axes as an input but ReduceMean's as an attribute.
    if (opType === 'ReduceSum') {
      return this.node(
        opType,
        [x.name, this.int64Constant(axes, 'reduce_axes')],
        { keepdims },
        shape,
        batchDim,
      );
    }
    return this.node(opType, [x.name], { axes, keepdims }, shape, batchDim);
  }

  sum(x: OnnxValue, dims: readonly number[], keepDims = false): OnnxValue {
    return this.reduce('ReduceSum', x, dims, keepDims);
  }

  mean(x: OnnxValue, dims: readonly number[], keepDims = false): OnnxValue {
    return this.reduce('ReduceMean', x, dims, keepDims);
  }

  shape(x: OnnxValue): readonly number[] {
    return x.shape;
  }
}
