/**
 * A direct, loop-by-loop implementation of `Ops<T>` in plain TypeScript, used as the hand-computed reference
 * for the ONNX recorder: the same forward function runs here and in ONNX Runtime, and the results must agree.
 */
import type { BatchNormOptions, Conv2dOptions, Ops } from '../../src/nn/ops.ts';

export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const strides = (shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1] * shape[i + 1];
  return out;
};
const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

function map(x: RefTensor, f: (v: number) => number): RefTensor {
  return { data: x.data.map(f), shape: [...x.shape] };
}

/** Visits every multi-index of `shape` in row-major order. */
function forEachIndex(shape: readonly number[], visit: (index: number[], flat: number) => void): void {
  const index = new Array<number>(shape.length).fill(0);
  const total = size(shape);
  for (let flat = 0; flat < total; flat++) {
    visit(index, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

export class ReferenceOps implements Ops<RefTensor> {
  tensor(data: ArrayLike<number>, shape: number[]): RefTensor {
    return { data: Float64Array.from(data), shape };
  }

  constant(data: Float32Array, shape: readonly number[]): RefTensor {
    return this.tensor(data, [...shape]);
  }

  conv2d(x: RefTensor, w: RefTensor, bias: RefTensor | null, options: Conv2dOptions = {}): RefTensor {
    const [sh, sw] = pair(options.stride, 1);
    const [ph, pw] = pair(options.padding, 0);
    const [n, c, h, wd] = x.shape;
    const [o, , kh, kw] = w.shape;
    const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
    const ow = Math.floor((wd + 2 * pw - kw) / sw) + 1;
    const out = new Float64Array(n * o * oh * ow);
    for (let b = 0; b < n; b++)
      for (let oc = 0; oc < o; oc++)
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let acc = bias ? bias.data[oc] : 0;
            for (let ic = 0; ic < c; ic++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = y * sh - ph + ky;
                  const ix = xx * sw - pw + kx;
                  if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                  acc +=
                    x.data[((b * c + ic) * h + iy) * wd + ix] * w.data[((oc * c + ic) * kh + ky) * kw + kx];
                }
            out[((b * o + oc) * oh + y) * ow + xx] = acc;
          }
    return { data: out, shape: [n, o, oh, ow] };
  }

  batchNorm2d(
    x: RefTensor,
    weight: RefTensor,
    bias: RefTensor,
    mean: RefTensor,
    variance: RefTensor,
    options: BatchNormOptions,
  ): RefTensor {
    const [, c, h, w] = x.shape;
    const out = x.data.map((v, i) => {
      const ch = Math.floor(i / (h * w)) % c;
      return (
        ((v - mean.data[ch]) / Math.sqrt(variance.data[ch] + options.eps)) * weight.data[ch] + bias.data[ch]
      );
    });
    return { data: out, shape: [...x.shape] };
  }

  linear(x: RefTensor, w: RefTensor, bias: RefTensor | null): RefTensor {
    const [o, i] = w.shape;
    const rows = size(x.shape) / i;
    const out = new Float64Array(rows * o);
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < o; k++) {
        let acc = bias ? bias.data[k] : 0;
        for (let j = 0; j < i; j++) acc += x.data[r * i + j] * w.data[k * i + j];
        out[r * o + k] = acc;
      }
    return { data: out, shape: [...x.shape.slice(0, -1), o] };
  }

  maxPool2d(x: RefTensor, kernel: number, stride: number, padding: number): RefTensor {
    const [n, c, h, w] = x.shape;
    const oh = Math.floor((h + 2 * padding - kernel) / stride) + 1;
    const ow = Math.floor((w + 2 * padding - kernel) / stride) + 1;
    const out = new Float64Array(n * c * oh * ow).fill(-Infinity);
    for (let p = 0; p < n * c; p++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++)
          for (let ky = 0; ky < kernel; ky++)
            for (let kx = 0; kx < kernel; kx++) {
              const iy = y * stride - padding + ky;
              const ix = xx * stride - padding + kx;
              if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
              const o = (p * oh + y) * ow + xx;
              out[o] = Math.max(out[o], x.data[(p * h + iy) * w + ix]);
            }
    return { data: out, shape: [n, c, oh, ow] };
  }

  globalAvgPool2d(x: RefTensor): RefTensor {
    return this.mean(x, [2, 3]);
  }

  upsampleNearest2d(x: RefTensor, scale: number): RefTensor {
    const [n, c, h, w] = x.shape;
    const shape = [n, c, h * scale, w * scale];
    const out = new Float64Array(size(shape));
    forEachIndex(shape, ([b, ch, y, xx], flat) => {
      out[flat] = x.data[((b * c + ch) * h + Math.floor(y / scale)) * w + Math.floor(xx / scale)];
    });
    return { data: out, shape };
  }

  relu(x: RefTensor): RefTensor {
    return map(x, (v) => Math.max(0, v));
  }

  sigmoid(x: RefTensor): RefTensor {
    return map(x, (v) => 1 / (1 + Math.exp(-v)));
  }

  silu(x: RefTensor): RefTensor {
    return map(x, (v) => v / (1 + Math.exp(-v)));
  }

  softmax(x: RefTensor, dim: number): RefTensor {
    const e = map(x, Math.exp);
    return this.broadcast(e, this.sum(e, [dim], true), (a, b) => a / b);
  }

  logSoftmax(x: RefTensor, dim: number): RefTensor {
    return map(this.softmax(x, dim), Math.log);
  }

  private broadcast(a: RefTensor, b: RefTensor, f: (x: number, y: number) => number): RefTensor {
    const rank = Math.max(a.shape.length, b.shape.length);
    const pad = (s: number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
    const sa = pad(a.shape);
    const sb = pad(b.shape);
    const shape = sa.map((d, i) => Math.max(d, sb[i]));
    const ta = strides(sa);
    const tb = strides(sb);
    const out = new Float64Array(size(shape));
    forEachIndex(shape, (index, flat) => {
      let ia = 0;
      let ib = 0;
      for (let d = 0; d < rank; d++) {
        ia += (sa[d] === 1 ? 0 : index[d]) * ta[d];
        ib += (sb[d] === 1 ? 0 : index[d]) * tb[d];
      }
      out[flat] = f(a.data[ia], b.data[ib]);
    });
    return { data: out, shape };
  }

  add(a: RefTensor, b: RefTensor): RefTensor {
    return this.broadcast(a, b, (x, y) => x + y);
  }

  sub(a: RefTensor, b: RefTensor): RefTensor {
    return this.broadcast(a, b, (x, y) => x - y);
  }

  mul(a: RefTensor, b: RefTensor): RefTensor {
    return this.broadcast(a, b, (x, y) => x * y);
  }

  mulScalar(x: RefTensor, value: number): RefTensor {
    return map(x, (v) => v * value);
  }

  reshape(x: RefTensor, shape: readonly number[]): RefTensor {
    const resolved = [...shape];
    const i = resolved.indexOf(-1);
    if (i >= 0) resolved[i] = size(x.shape) / -size(resolved);
    return { data: x.data, shape: resolved };
  }

  permute(x: RefTensor, dims: readonly number[]): RefTensor {
    const shape = dims.map((d) => x.shape[d]);
    const source = strides(x.shape);
    const out = new Float64Array(x.data.length);
    forEachIndex(shape, (index, flat) => {
      let offset = 0;
      for (let d = 0; d < dims.length; d++) offset += index[d] * source[dims[d]];
      out[flat] = x.data[offset];
    });
    return { data: out, shape };
  }

  concat(xs: readonly RefTensor[], dim: number): RefTensor {
    const shape = [...xs[0].shape];
    shape[dim] = xs.reduce((t, x) => t + x.shape[dim], 0);
    const out = new Float64Array(size(shape));
    forEachIndex(shape, (index, flat) => {
      let k = index[dim];
      let part = 0;
      while (k >= xs[part].shape[dim]) k -= xs[part++].shape[dim];
      const local = [...index];
      local[dim] = k;
      const st = strides(xs[part].shape);
      out[flat] = xs[part].data[local.reduce((acc, v, d) => acc + v * st[d], 0)];
    });
    return { data: out, shape };
  }

  slice(x: RefTensor, dim: number, start: number, end: number): RefTensor {
    const shape = [...x.shape];
    shape[dim] = end - start;
    const st = strides(x.shape);
    const out = new Float64Array(size(shape));
    forEachIndex(shape, (index, flat) => {
      out[flat] = x.data[index.reduce((acc, v, d) => acc + (d === dim ? v + start : v) * st[d], 0)];
    });
    return { data: out, shape };
  }

  sum(x: RefTensor, dims: readonly number[], keepDims = false): RefTensor {
    const axes = dims.map((d) => (d < 0 ? d + x.shape.length : d));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = new Float64Array(size(kept));
    const st = strides(kept);
    forEachIndex(x.shape, (index, flat) => {
      out[index.reduce((acc, v, d) => acc + (axes.includes(d) ? 0 : v) * st[d], 0)] += x.data[flat];
    });
    return { data: out, shape: keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i)) };
  }

  mean(x: RefTensor, dims: readonly number[], keepDims = false): RefTensor {
    const axes = dims.map((d) => (d < 0 ? d + x.shape.length : d));
    const count = axes.reduce((t, d) => t * x.shape[d], 1);
    return map(this.sum(x, dims, keepDims), (v) => v / count);
  }

  shape(x: RefTensor): readonly number[] {
    return x.shape;
  }
}
