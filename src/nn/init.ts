/**
 * Seeded initial values for {@link ParameterSpec}s, engine-independent, so that a model built from scratch
 * with the same seed starts from the same weights on every backend.
 */
import { LilnetError } from '../errors.ts';
import type { ParameterSpec } from './ops.ts';

/**
 * Creates a seeded pseudo-random source of uniform numbers in [0, 1) (the mulberry32 generator). The seed is
 * taken modulo 2^32.
 */
export function createRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) {
    throw new LilnetError('INVALID_ARGUMENT', `random seed ${seed} is not an integer`, {
      hint: 'pass a whole number, such as 42, as the seed',
    });
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function standardNormal(random: () => number): number {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Returns the initial values of one parameter: Kaiming-normal with fan-out and ReLU gain (std
 * sqrt(2 / fan_out), fan_out = shape[0] * receptive field size), a constant, or uniform in +-1/sqrt(fan_in).
 */
export function initialValues(spec: ParameterSpec, random: () => number): Float32Array {
  const count = spec.shape.reduce((product, dim) => product * dim, 1);
  const values = new Float32Array(count);
  const init = spec.init;
  switch (init.kind) {
    case 'constant':
      values.fill(init.value);
      return values;
    case 'kaiming-normal-fan-out-relu': {
      if (spec.shape.length < 2) {
        throw new LilnetError(
          'INTERNAL',
          `Kaiming initialisation of ${spec.name} needs a weight of rank 2 or more`,
        );
      }
      const receptiveField = spec.shape.slice(2).reduce((product, dim) => product * dim, 1);
      const std = Math.sqrt(2 / (spec.shape[0] * receptiveField));
      for (let i = 0; i < count; i++) values[i] = std * standardNormal(random);
      return values;
    }
    case 'uniform-fan-in': {
      const bound = 1 / Math.sqrt(init.fanIn);
      for (let i = 0; i < count; i++) values[i] = (2 * random() - 1) * bound;
      return values;
    }
  }
}
