/**
 * Training augmentation of the LiLNet recipe, on the grey crop after resizing to the model input size:
 * - subtype models (HCC/ICC/MET, FNH/HEM/CYST): horizontal flip p = 0.5, vertical flip p = 0.5, rotation by
 *   an angle uniform in [-360, 360] degrees (nearest neighbour, zero fill);
 * - benign/malignant model: horizontal flip p = 0.5, rotation uniform in [-90, 90] degrees, intensity
 *   inversion p = 0.5, additive Gaussian noise of std 1 grey level p = 0.2, salt-and-pepper noise of density
 *   0.2 p = 0.2.
 * The result is the model input: grey replicated to three channels, x / 255, normalised with mean 0.5 and
 * std 0.5. Every random draw comes from the given seeded generator.
 */
import { resizeBilinearPil, type Image8 } from '../nn/preprocess.ts';
import type { Rng } from './rng.ts';

export type AugmentationFamily = 'benign-malignant' | 'subtype' | 'none';

/** Converts an RGB image to grey with PIL's `convert('L')` weights (ITU-R 601-2 luma); grey passes through. */
export function toGrey(image: Image8): Image8 {
  if (image.channels === 1) return image;
  const data = new Uint8Array(image.width * image.height);
  for (let i = 0; i < data.length; i++) {
    const r = image.data[3 * i];
    const g = image.data[3 * i + 1];
    const b = image.data[3 * i + 2];
    data[i] = Math.floor((r * 299 + g * 587 + b * 114 + 500) / 1000);
  }
  return { width: image.width, height: image.height, channels: 1, data };
}

/** Rotates a square grey plane by `degrees` counter-clockwise about its centre, nearest neighbour, zero fill. */
export function rotateNearest(plane: Float32Array, size: number, degrees: number): Float32Array {
  const out = new Float32Array(size * size);
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const centre = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    const dy = y - centre;
    for (let x = 0; x < size; x++) {
      const dx = x - centre;
      // Inverse mapping: the source of an output pixel lies at the opposite rotation (y grows downwards).
      const sourceX = Math.round(cos * dx - sin * dy + centre);
      const sourceY = Math.round(sin * dx + cos * dy + centre);
      if (sourceX >= 0 && sourceX < size && sourceY >= 0 && sourceY < size)
        out[y * size + x] = plane[sourceY * size + sourceX];
    }
  }
  return out;
}

function flipHorizontal(plane: Float32Array, size: number): void {
  for (let y = 0; y < size; y++) plane.subarray(y * size, (y + 1) * size).reverse();
}

function flipVertical(plane: Float32Array, size: number): void {
  const row = new Float32Array(size);
  for (let y = 0; y < size / 2; y++) {
    const top = plane.subarray(y * size, (y + 1) * size);
    const bottom = plane.subarray((size - 1 - y) * size, (size - y) * size);
    row.set(top);
    top.set(bottom);
    bottom.set(row);
  }
}

/** Applies a family's random transforms to a grey plane of 0..255 values; returns the (possibly new) plane. */
export function augmentGreyPlane(
  plane: Float32Array,
  size: number,
  family: AugmentationFamily,
  rng: Rng,
): Float32Array {
  if (family === 'none') return plane;
  let current = plane;
  if (family === 'subtype') {
    if (rng.bernoulli(0.5)) flipHorizontal(current, size);
    if (rng.bernoulli(0.5)) flipVertical(current, size);
    current = rotateNearest(current, size, rng.uniform(-360, 360));
    return current;
  }
  if (rng.bernoulli(0.5)) flipHorizontal(current, size);
  current = rotateNearest(current, size, rng.uniform(-90, 90));
  if (rng.bernoulli(0.5)) for (let i = 0; i < current.length; i++) current[i] = 255 - current[i];
  if (rng.bernoulli(0.2)) {
    for (let i = 0; i < current.length; i++)
      current[i] = Math.min(255, Math.max(0, current[i] + rng.normal(0, 1)));
  }
  if (rng.bernoulli(0.2)) {
    for (let i = 0; i < current.length; i++) {
      if (rng.next() < 0.2) current[i] = rng.bernoulli(0.5) ? 255 : 0;
    }
  }
  return current;
}

/**
 * Writes one sample's model input `[3, size, size]` into `out` at `offset`: resize (Pillow bilinear), augment
 * with `family` (none for evaluation), replicate to three channels, x / 255, (x - 0.5) / 0.5.
 */
export function sampleToModelInput(
  image: Image8,
  sizePx: number,
  family: AugmentationFamily,
  rng: Rng | null,
  out: Float32Array,
  offset: number,
): void {
  const grey = toGrey(image);
  const resized =
    grey.width === sizePx && grey.height === sizePx ? grey : resizeBilinearPil(grey, sizePx, sizePx);
  let plane: Float32Array = Float32Array.from(resized.data);
  if (family !== 'none' && rng) plane = augmentGreyPlane(plane, sizePx, family, rng);
  const planeSize = sizePx * sizePx;
  for (let i = 0; i < planeSize; i++) {
    const value = Math.fround(Math.fround(Math.fround(plane[i] / 255) - 0.5) / 0.5);
    out[offset + i] = value;
    out[offset + planeSize + i] = value;
    out[offset + 2 * planeSize + i] = value;
  }
}
