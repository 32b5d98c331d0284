/**
 * The parameters and buffers of one model on libtorch, built from its {@link ParameterSpec} list: initialised
 * from a seed, or loaded from a state dict (a PyTorch checkpoint or lilnet's own training checkpoint).
 */
import { LilnetError } from '../../errors.ts';
import {
  compareStateDict,
  describeStateDictComparison,
  type StateDictComparison,
} from '../../nn/checkpoint/compare-state-dict.ts';
import { createRandom, initialValues } from '../../nn/init.ts';
import type { ParameterLookup, ParameterSpec } from '../../nn/ops.ts';
import { callNative } from './native.ts';
import { TorchTensor } from './tensor.ts';

/** One state-dict entry, as the PyTorch checkpoint reader and the training checkpoint return them. */
export interface StateDictEntry {
  shape: readonly number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

export interface ParameterStoreOptions {
  /** Element type of every tensor; float64 serves gradient checks. Default float32. */
  dtype?: 'float32' | 'float64';
}

export interface LoadStateDictOptions {
  /** Throw `CHECKPOINT_MISMATCH` on missing, unexpected or mis-shaped keys (default true). */
  strict?: boolean;
}

function toFloatArray(
  data: StateDictEntry['data'],
  dtype: 'float32' | 'float64',
): Float32Array | Float64Array {
  if (dtype === 'float32' && data instanceof Float32Array) return data;
  if (dtype === 'float64' && data instanceof Float64Array) return data;
  const out = dtype === 'float32' ? new Float32Array(data.length) : new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

export class ParameterStore {
  readonly specs: readonly ParameterSpec[];
  readonly dtype: 'float32' | 'float64';
  readonly #tensors = new Map<string, TorchTensor>();

  private constructor(specs: readonly ParameterSpec[], dtype: 'float32' | 'float64') {
    const seen = new Set<string>();
    for (const spec of specs) {
      if (seen.has(spec.name)) throw new LilnetError('INTERNAL', `parameter ${spec.name} is specified twice`);
      seen.add(spec.name);
    }
    this.specs = specs;
    this.dtype = dtype;
  }

  /** Creates every parameter with its spec's initialisation, drawing from a generator seeded with `seed`. */
  static initialise(
    specs: readonly ParameterSpec[],
    seed: number,
    options: ParameterStoreOptions = {},
  ): ParameterStore {
    const store = new ParameterStore(specs, options.dtype ?? 'float32');
    const random = createRandom(seed);
    for (const spec of specs) store.#set(spec, initialValues(spec, random));
    return store;
  }

  /**
   * Creates the parameters from a state dict; see {@link loadStateDict} for `strict`. Without `strict`, the
   * parameters that the state dict lacks or stores with another shape start from their initialisation with seed 0.
   */
  static fromStateDict(
    specs: readonly ParameterSpec[],
    stateDict: ReadonlyMap<string, StateDictEntry>,
    options: ParameterStoreOptions & LoadStateDictOptions = {},
  ): { store: ParameterStore; comparison: StateDictComparison } {
    const entries = stripModulePrefix(stateDict);
    const comparison = checkComparison(compareStateDict(entries, specs), options);
    const store = new ParameterStore(specs, options.dtype ?? 'float32');
    const misshaped = new Set(comparison.misshaped.map((m) => m.name));
    const random = createRandom(0);
    try {
      for (const spec of specs) {
        const entry = entries.get(spec.name);
        if (entry && !misshaped.has(spec.name)) store.#set(spec, toFloatArray(entry.data, store.dtype));
        else store.#set(spec, initialValues(spec, random));
      }
    } catch (error) {
      store.dispose();
      throw error;
    }
    return { store, comparison };
  }

  #set(spec: ParameterSpec, values: Float32Array | Float64Array): void {
    const data = toFloatArray(values, this.dtype);
    const handle =
      data instanceof Float64Array
        ? callNative('fromFloat64', (t) => t.fromFloat64(data, spec.shape))
        : callNative('fromFloat32', (t) => t.fromFloat32(data, spec.shape));
    const tensor = new TorchTensor(handle, false);
    if (spec.trainable) tensor.setRequiresGrad(true);
    this.#tensors.get(spec.name)?.dispose();
    this.#tensors.set(spec.name, tensor);
  }

  /**
   * Copies the matching entries of a state dict into the parameters. Keys are compared with the specs as
   * PyTorch's `load_state_dict` does (batch-norm `num_batches_tracked` counters are ignored); a `module.`
   * prefix on every key (a model saved inside DataParallel) is stripped first. With `strict` (the default) any
   * mismatch throws `CHECKPOINT_MISMATCH` before anything is changed; otherwise the matching keys load and the
   * comparison reports the rest.
   */
  loadStateDict(
    stateDict: ReadonlyMap<string, StateDictEntry>,
    options: LoadStateDictOptions = {},
  ): StateDictComparison {
    const entries = stripModulePrefix(stateDict);
    const comparison = checkComparison(compareStateDict(entries, this.specs), options);
    const misshaped = new Set(comparison.misshaped.map((m) => m.name));
    for (const spec of this.specs) {
      const entry = entries.get(spec.name);
      if (!entry || misshaped.has(spec.name)) continue;
      const source = toFloatArray(entry.data, this.dtype);
      const target = this.get(spec.name);
      const handle =
        source instanceof Float64Array
          ? callNative('fromFloat64', (t) => t.fromFloat64(source, spec.shape))
          : callNative('fromFloat32', (t) => t.fromFloat32(source, spec.shape));
      const sourceTensor = new TorchTensor(handle, false);
      try {
        callNative('copyInto', (t) => t.copyInto(target.handle, sourceTensor.handle));
      } finally {
        sourceTensor.dispose();
      }
    }
    return comparison;
  }

  /** The tensor named `name`; throws `INTERNAL` when a forward function looks up a name its specs lack. */
  get(name: string): TorchTensor {
    const tensor = this.#tensors.get(name);
    if (!tensor)
      throw new LilnetError('INTERNAL', `the model looked up parameter ${name}, which its specs lack`);
    return tensor;
  }

  /** A {@link ParameterLookup} for model forward functions. */
  readonly lookup: ParameterLookup<TorchTensor> = (name) => this.get(name);

  /** Returns the learnable parameters in spec order: the tensors an optimiser updates. */
  trainableParameters(): TorchTensor[] {
    return this.specs.filter((s) => s.trainable).map((s) => this.get(s.name));
  }

  trainableNames(): string[] {
    return this.specs.filter((s) => s.trainable).map((s) => s.name);
  }

  /** Copies every parameter and buffer out as float32, in spec order. */
  toStateDict(): Map<string, { shape: number[]; dtype: 'float32'; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; dtype: 'float32'; data: Float32Array }>();
    for (const spec of this.specs) {
      out.set(spec.name, {
        shape: [...spec.shape],
        dtype: 'float32',
        data: this.get(spec.name).toFloat32Array(),
      });
    }
    return out;
  }

  /** Total number of elements of the learnable parameters. */
  parameterCount(): number {
    return this.specs.filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((p, d) => p * d, 1), 0);
  }

  dispose(): void {
    for (const tensor of this.#tensors.values()) tensor.dispose();
    this.#tensors.clear();
  }
}

function checkComparison(
  comparison: StateDictComparison,
  options: LoadStateDictOptions,
): StateDictComparison {
  if (!comparison.matches && (options.strict ?? true)) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      `state dict does not match the model:\n${describeStateDictComparison(comparison)}`,
      {
        hint: 'check that the checkpoint is for this model and number of classes, or load it non-strictly',
      },
    );
  }
  return comparison;
}

/** Removes a `module.` prefix when every key has it, as the reader does for DataParallel checkpoints. */
function stripModulePrefix(
  stateDict: ReadonlyMap<string, StateDictEntry>,
): ReadonlyMap<string, StateDictEntry> {
  const keys = [...stateDict.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith('module.'))) return stateDict;
  return new Map([...stateDict].map(([k, v]) => [k.slice('module.'.length), v]));
}
