/**
 * Smooth value noise on an integer lattice, seeded, for tissue texture. Values lie in [-1, 1] and vary over
 * about one lattice cell; callers scale coordinates so that a cell is the texture's feature size.
 */
function latticeValue(seed: number, ix: number, iy: number, iz: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ Math.imul(iz, 0x61c88647) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 2147483647.5 - 1;
}

function fade(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Trilinearly interpolated lattice noise at (x, y, z), in [-1, 1]. */
export function valueNoise3(seed: number, x: number, y: number, z: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const z0 = Math.floor(z);
  const tx = fade(x - x0);
  const ty = fade(y - y0);
  const tz = fade(z - z0);
  const c000 = latticeValue(seed, x0, y0, z0);
  const c100 = latticeValue(seed, x0 + 1, y0, z0);
  const c010 = latticeValue(seed, x0, y0 + 1, z0);
  const c110 = latticeValue(seed, x0 + 1, y0 + 1, z0);
  const c001 = latticeValue(seed, x0, y0, z0 + 1);
  const c101 = latticeValue(seed, x0 + 1, y0, z0 + 1);
  const c011 = latticeValue(seed, x0, y0 + 1, z0 + 1);
  const c111 = latticeValue(seed, x0 + 1, y0 + 1, z0 + 1);
  const x00 = c000 + (c100 - c000) * tx;
  const x10 = c010 + (c110 - c010) * tx;
  const x01 = c001 + (c101 - c001) * tx;
  const x11 = c011 + (c111 - c011) * tx;
  const y0v = x00 + (x10 - x00) * ty;
  const y1v = x01 + (x11 - x01) * ty;
  return y0v + (y1v - y0v) * tz;
}

/** Two octaves of value noise, in about [-1, 1]. */
export function fractalNoise3(seed: number, x: number, y: number, z: number): number {
  return 0.67 * valueNoise3(seed, x, y, z) + 0.33 * valueNoise3(seed ^ 0x5bd1e995, 2 * x, 2 * y, 2 * z);
}

/** A uniform deviate in (0, 1) that depends only on (seed, i, j), for order-independent pixel noise. */
export function hashUniform(seed: number, i: number, j: number): number {
  let h = Math.imul(i, 0x27d4eb2d) ^ Math.imul(j + 0x3c6ef372, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h ^= h >>> 13;
  return ((h >>> 0) + 0.5) / 4294967296;
}

/** A standard normal deviate that depends only on (seed, i, j) (Box-Muller on two hashed uniforms). */
export function hashNormal(seed: number, i: number, j: number): number {
  const u1 = hashUniform(seed, i, j);
  const u2 = hashUniform(seed ^ 0x68e31da4, i, j);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
