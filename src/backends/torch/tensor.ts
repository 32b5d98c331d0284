/**
 * Tensors of the libtorch backend and the rules that release their memory deterministically.
 *
 * A {@link TorchTensor} owns one native tensor until {@link TorchTensor.dispose} is called. Inside
 * {@link scope}, every tensor created is disposed when the scope's function returns, except the tensors it
 * returns (directly, or inside arrays and plain objects), which move to the enclosing scope. Tensors created
 * outside any scope, and tensors passed to {@link keep}, live until disposed by hand. The garbage collector
 * also frees a forgotten tensor eventually, but training code must not rely on it: native memory does not
 * press the JavaScript heap, so collection may come too late.
 */
import { LilnetError } from '../../errors.ts';
import { callNative, nativeTorch, type NativeHandle } from './native.ts';

export type TorchDtype = 'float32' | 'float64' | 'int64';

type Scope = Set<TorchTensor>;
const scopes: Scope[] = [];

export class TorchTensor {
  #handle: NativeHandle | null;
  #shape: readonly number[] | undefined;
  #scope: Scope | undefined;

  /** Wraps a native handle; `tracked` false keeps the tensor out of the current scope. */
  constructor(handle: NativeHandle, tracked = true) {
    this.#handle = handle;
    if (tracked && scopes.length > 0) {
      this.#scope = scopes[scopes.length - 1];
      this.#scope.add(this);
    }
  }

  /** The native handle; throws `TORCH_TENSOR_DISPOSED` after {@link dispose}. */
  get handle(): NativeHandle {
    if (this.#handle === null) {
      throw new LilnetError('TORCH_TENSOR_DISPOSED', 'a torch tensor was used after it was disposed', {
        hint: 'return the tensor from its scope(), or call keep() on it, to use it after the scope ends',
      });
    }
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  get shape(): readonly number[] {
    this.#shape ??= Object.freeze(callNative('shape', (t) => t.shape(this.handle)));
    return this.#shape;
  }

  get dtype(): TorchDtype {
    const dtype = callNative('dtype', (t) => t.dtype(this.handle));
    if (dtype === 'float32' || dtype === 'float64' || dtype === 'int64') return dtype;
    throw new LilnetError('INTERNAL', `torch tensor has unsupported dtype ${dtype}`);
  }

  get size(): number {
    return this.shape.reduce((product, dim) => product * dim, 1);
  }

  /** Releases the native memory now. Disposing twice is harmless. */
  dispose(): void {
    if (this.#handle === null) return;
    this.#handle.dispose();
    this.#handle = null;
    this.#scope?.delete(this);
    this.#scope = undefined;
  }

  toFloat32Array(): Float32Array {
    return callNative('toFloat32Array', (t) => t.toFloat32Array(this.handle));
  }

  toFloat64Array(): Float64Array {
    return callNative('toFloat64Array', (t) => t.toFloat64Array(this.handle));
  }

  /** Returns the value of a one-element tensor, as float64. */
  item(): number {
    const values = this.toFloat64Array();
    if (values.length !== 1) {
      throw new LilnetError(
        'INVALID_ARGUMENT',
        `item() needs a one-element tensor, not shape [${this.shape.join(', ')}]`,
      );
    }
    return values[0];
  }

  get requiresGrad(): boolean {
    return callNative('requiresGrad', (t) => t.requiresGrad(this.handle));
  }

  /** Marks the tensor as a leaf that accumulates gradients (parameters) or stops doing so; returns it. */
  setRequiresGrad(requiresGrad: boolean): this {
    callNative('setRequiresGrad', (t) => t.setRequiresGrad(this.handle, requiresGrad));
    return this;
  }

  /** Returns a new tensor sharing the accumulated gradient's memory, or null before any backward pass reached it. */
  grad(): TorchTensor | null {
    const handle = callNative('grad', (t) => t.grad(this.handle));
    return handle === null ? null : new TorchTensor(handle);
  }

  /** Back-propagates from this tensor (a scalar unless `gradOutput` is given) into every leaf's gradient. */
  backward(gradOutput?: TorchTensor): void {
    callNative('backward', (t) => t.backward(this.handle, gradOutput ? gradOutput.handle : null));
  }

  /** Moves the tensor out of any scope, so that only {@link dispose} releases it. */
  keep(): this {
    this.#scope?.delete(this);
    this.#scope = undefined;
    return this;
  }

  /** Moves the tensor into a given scope (used when a scope returns it). */
  adoptInto(target: Scope | undefined): void {
    this.#scope?.delete(this);
    this.#scope = target;
    target?.add(this);
  }
}

/** Removes a tensor from scope tracking; see {@link TorchTensor.keep}. */
export function keep<T extends TorchTensor>(tensor: T): T {
  return tensor.keep();
}

function collectTensors(value: unknown, found: Set<TorchTensor>, depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof TorchTensor) {
    found.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectTensors(item, found, depth + 1);
  } else if (value instanceof Map) {
    for (const item of value.values()) collectTensors(item, found, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectTensors(item, found, depth + 1);
  }
}

/**
 * Runs `run` and disposes every tensor it created, except those in its result (a tensor, or arrays, maps and
 * plain objects holding tensors), which move to the enclosing scope. `run` must be synchronous: a promise
 * result is rejected, because the scope would end before the awaited work.
 */
export function scope<R>(run: () => R): R {
  const current: Scope = new Set();
  scopes.push(current);
  let result: R;
  try {
    result = run();
  } catch (error) {
    scopes.pop();
    for (const tensor of [...current]) tensor.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const tensor of [...current]) tensor.dispose();
    throw new LilnetError(
      'INTERNAL',
      'scope() was given an async function; torch scopes must be synchronous',
    );
  }
  const survivors = new Set<TorchTensor>();
  collectTensors(result, survivors, 0);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  for (const tensor of [...current]) {
    if (survivors.has(tensor)) tensor.adoptInto(parent);
    else tensor.dispose();
  }
  return result;
}

/** Runs `run` with autograd recording turned off (as `torch.no_grad()`), restoring the previous mode after. */
export function noGrad<R>(run: () => R): R {
  const torch = nativeTorch();
  const previous = torch.setGradEnabled(false);
  try {
    return run();
  } finally {
    torch.setGradEnabled(previous);
  }
}

function checkShape(length: number, shape: readonly number[], call: string): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${call}: shape [${shape.join(', ')}] has a non-integer or negative size`,
    );
  }
  const expected = shape.reduce((product, dim) => product * dim, 1);
  if (expected !== length) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${call}: ${length} values do not fill shape [${shape.join(', ')}] (${expected} elements)`,
    );
  }
}

/** Creates a tensor holding a copy of `data`: float32 from a Float32Array, float64 from a Float64Array. */
export function tensor(data: Float32Array | Float64Array, shape: readonly number[]): TorchTensor {
  checkShape(data.length, shape, 'tensor');
  if (data instanceof Float64Array)
    return new TorchTensor(callNative('fromFloat64', (t) => t.fromFloat64(data, shape)));
  return new TorchTensor(callNative('fromFloat32', (t) => t.fromFloat32(data, shape)));
}

/** Creates an int64 tensor (class labels) from integers. */
export function int64Tensor(
  data: Int32Array | readonly number[],
  shape: readonly number[] = [data.length],
): TorchTensor {
  if (!(data instanceof Int32Array)) {
    // Int32Array.from would truncate fractions and wrap values outside the int32 range silently.
    const badIndex = data.findIndex(
      (value) => !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31,
    );
    if (badIndex >= 0) {
      throw new LilnetError(
        'INVALID_ARGUMENT',
        `int64Tensor: value ${data[badIndex]} at index ${badIndex} is not a 32-bit integer`,
        { hint: 'pass whole numbers from -2147483648 to 2147483647, such as 0-based class indices' },
      );
    }
  }
  const values = data instanceof Int32Array ? data : Int32Array.from(data);
  checkShape(values.length, shape, 'int64Tensor');
  return new TorchTensor(callNative('fromInt32', (t) => t.fromInt32(values, shape)));
}

export function zeros(shape: readonly number[], dtype: TorchDtype = 'float32'): TorchTensor {
  checkShape(
    shape.reduce((p, d) => p * d, 1),
    shape,
    'zeros',
  );
  return new TorchTensor(callNative('zeros', (t) => t.zeros(shape, dtype)));
}

/** Upper bound of {@link setNumThreads}: a sanity limit far above the core count of current CPUs. */
const MAX_THREADS = 1024;

/** Sets libtorch's intra-op thread count (`torch.set_num_threads`). */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new LilnetError('INVALID_ARGUMENT', `thread count ${threads} is not a positive integer`);
  }
  // libgomp allocates per-thread state up front and aborts the whole process when that allocation fails.
  if (threads > MAX_THREADS) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `thread count ${threads} is above the maximum of ${MAX_THREADS}`,
      {
        hint: 'use at most the number of CPU cores, for example os.availableParallelism()',
      },
    );
  }
  callNative('setNumThreads', (t) => t.setNumThreads(threads));
}

export function getNumThreads(): number {
  return callNative('getNumThreads', (t) => t.getNumThreads());
}

/** Number of native tensors currently held by handles in this process (for memory tests and diagnostics). */
export function liveTensorCount(): number {
  return callNative('liveTensorCount', (t) => t.liveTensorCount());
}

/** The libtorch version the addon was built against, e.g. `1.13.0`. */
export function torchVersion(): string {
  return callNative('version', (t) => t.version());
}

/** Copies the values of `source` into `destination` in place, outside autograd (loading weights, tests). */
export function copyInto(destination: TorchTensor, source: TorchTensor): void {
  callNative('copyInto', (t) => t.copyInto(destination.handle, source.handle));
}

/**
 * Bytes of freed tensor memory that the addon's caching allocator keeps for reuse. The cache is capped by
 * LILNET_TORCH_CACHE_MB (default 4096); beyond it, freed blocks return to the system.
 */
export function cachedTensorBytes(): number {
  return callNative('cachedBytes', (t) => t.cachedBytes());
}

/** Returns every cached tensor block to the system (after training, before a long idle period). */
export function emptyTensorCache(): void {
  callNative('emptyCache', (t) => t.emptyCache());
}
