/**
 * Training batches with augmentation: a horizontal flip, and mosaic (four images shrunk to the quadrants of
 * one input around a random centre), which shows lesions at more sizes and positions per step.
 */
import type { Rng } from '../data/rng.ts';
import { resizeBilinear } from './letterbox.ts';
import type { Box } from './box.ts';
import type { LetterboxedSample } from './yolo-dataset.ts';

export interface AugmentOptions {
  /** Probability that a batch image is a mosaic of four images. */
  mosaicProbability: number;
  /** Probability of a left-right flip of each image (or mosaic tile). */
  flipProbability: number;
}

export const DEFAULT_AUGMENT_OPTIONS: AugmentOptions = { mosaicProbability: 0.5, flipProbability: 0.5 };

/** Boxes smaller than this many input pixels on a side after mosaic shrinking are dropped. */
const MIN_BOX_SIDE = 2;

interface Tile {
  pixels: Float32Array;
  boxes: Box[];
}

function flipTile(tile: Tile, size: number): Tile {
  const pixels = new Float32Array(tile.pixels.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) pixels[y * size + x] = tile.pixels[y * size + (size - 1 - x)];
  }
  return {
    pixels,
    boxes: tile.boxes.map((box) => ({ x1: size - box.x2, y1: box.y1, x2: size - box.x1, y2: box.y2 })),
  };
}

function toTile(sample: LetterboxedSample, size: number): Tile {
  const pixels = new Float32Array(size * size);
  for (let index = 0; index < pixels.length; index++) pixels[index] = sample.pixels[index] / 255;
  return { pixels, boxes: sample.boxes.map((box) => ({ ...box })) };
}

function mosaic(
  samples: readonly LetterboxedSample[],
  size: number,
  rng: Rng,
  flipProbability: number,
): Tile {
  const centreX = Math.round(rng.uniform(0.3, 0.7) * size);
  const centreY = Math.round(rng.uniform(0.3, 0.7) * size);
  const regions = [
    { x: 0, y: 0, width: centreX, height: centreY },
    { x: centreX, y: 0, width: size - centreX, height: centreY },
    { x: 0, y: centreY, width: centreX, height: size - centreY },
    { x: centreX, y: centreY, width: size - centreX, height: size - centreY },
  ];
  const pixels = new Float32Array(size * size);
  const boxes: Box[] = [];
  regions.forEach((region, index) => {
    let tile = toTile(samples[index], size);
    if (rng.bernoulli(flipProbability)) tile = flipTile(tile, size);
    const scaled = resizeBilinear(tile.pixels, size, size, region.width, region.height);
    for (let y = 0; y < region.height; y++) {
      pixels.set(scaled.subarray(y * region.width, (y + 1) * region.width), (region.y + y) * size + region.x);
    }
    const scaleX = region.width / size;
    const scaleY = region.height / size;
    for (const box of tile.boxes) {
      const mapped = {
        x1: region.x + box.x1 * scaleX,
        y1: region.y + box.y1 * scaleY,
        x2: region.x + box.x2 * scaleX,
        y2: region.y + box.y2 * scaleY,
      };
      if (mapped.x2 - mapped.x1 >= MIN_BOX_SIDE && mapped.y2 - mapped.y1 >= MIN_BOX_SIDE) boxes.push(mapped);
    }
  });
  return { pixels, boxes };
}

/**
 * Builds one batch: `[batch, 3, size, size]` input (grey repeated in three channels) and the boxes of each image
 * in input pixels. `pick` draws a random training sample (for the extra mosaic tiles).
 */
export function buildTrainingBatch(
  samples: readonly LetterboxedSample[],
  pick: () => LetterboxedSample,
  size: number,
  rng: Rng,
  options: AugmentOptions,
): { input: Float32Array; boxes: Box[][] } {
  const plane = size * size;
  const input = new Float32Array(samples.length * 3 * plane);
  const boxes: Box[][] = [];
  samples.forEach((sample, index) => {
    let tile: Tile;
    if (rng.bernoulli(options.mosaicProbability)) {
      tile = mosaic([sample, pick(), pick(), pick()], size, rng, options.flipProbability);
    } else {
      tile = toTile(sample, size);
      if (rng.bernoulli(options.flipProbability)) tile = flipTile(tile, size);
    }
    for (let channel = 0; channel < 3; channel++) input.set(tile.pixels, (index * 3 + channel) * plane);
    boxes.push(tile.boxes);
  });
  return { input, boxes };
}
