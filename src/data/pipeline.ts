/**
 * The batch pipeline that feeds the engine: decodes crops (cached after the first read, since crops are small),
 * applies the seeded augmentation, and assembles NCHW float32 batches. Batches are prepared ahead of the
 * training step: while the engine computes batch i, the files of batch i + 1 .. i + `prefetch` are decoded on
 * libuv's thread pool (sharp), so decoding overlaps with the step.
 *
 * Determinism: the order of an epoch comes from (seed, epoch) and each sample's augmentation from
 * (seed, epoch, position), never from timing, so a resumed run gets the same batches.
 */
import { extname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { decodeBmp } from '../imaging/bmp.ts';
import { readImage8, type Image8 } from '../nn/preprocess.ts';
import { sampleToModelInput, toGrey, type AugmentationFamily } from './augment.ts';
import { Rng, hashSeed } from './rng.ts';

export interface LabelledImage {
  path: string;
  label: number;
}

export interface Batch {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  /** Indices of the batch's samples in the epoch's sample list. */
  sampleIndices: number[];
}

/** Reads a crop as 8-bit grey: BMP through lilnet's decoder, everything else through sharp. */
export async function readCropImage(path: string): Promise<Image8> {
  if (extname(path).toLowerCase() === '.bmp') {
    const bmp = decodeBmp(new Uint8Array(await readFile(path)), path);
    return toGrey({ width: bmp.width, height: bmp.height, channels: bmp.channels as 1 | 3, data: bmp.data });
  }
  return toGrey(await readImage8(path));
}

/** Decoded crops by path, so that later epochs skip decoding. */
export class ImageCache {
  readonly #images = new Map<string, Promise<Image8>>();

  get(path: string): Promise<Image8> {
    let image = this.#images.get(path);
    if (!image) {
      image = readCropImage(path);
      this.#images.set(path, image);
      image.catch(() => this.#images.delete(path));
    }
    return image;
  }
}

/** Returns the order in which an epoch visits the samples: a seeded shuffle of 0..count-1. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  return new Rng(hashSeed(seed, 0xe90c, epoch)).shuffle(order);
}

export interface BatchStreamOptions {
  samples: readonly LabelledImage[];
  batchSize: number;
  sizePx: number;
  family: AugmentationFamily;
  seed: number;
  epoch: number;
  /** Visit the samples in a seeded random order (training) or in list order (evaluation). */
  shuffle: boolean;
  /** Batches prepared ahead of the consumer. */
  prefetch?: number;
  cache?: ImageCache;
}

/** Assembles one batch from sample positions `[start, end)` of the order. */
async function buildBatch(
  options: BatchStreamOptions,
  order: readonly number[],
  start: number,
  end: number,
  cache: ImageCache,
): Promise<Batch> {
  const count = end - start;
  const perImage = 3 * options.sizePx * options.sizePx;
  const images = new Float32Array(count * perImage);
  const labels = new Int32Array(count);
  const sampleIndices = order.slice(start, end);
  const decoded = await Promise.all(sampleIndices.map((index) => cache.get(options.samples[index].path)));
  for (let i = 0; i < count; i++) {
    const rng =
      options.family === 'none' ? null : new Rng(hashSeed(options.seed, 0xa06, options.epoch, start + i));
    sampleToModelInput(decoded[i], options.sizePx, options.family, rng, images, i * perImage);
    labels[i] = options.samples[sampleIndices[i]].label;
  }
  return { images, shape: [count, 3, options.sizePx, options.sizePx], labels, sampleIndices };
}

/** Yields the batches of one epoch, keeping up to `prefetch` batches in preparation ahead of the consumer. */
export async function* batchStream(options: BatchStreamOptions): AsyncGenerator<Batch> {
  const cache = options.cache ?? new ImageCache();
  const count = options.samples.length;
  const order = options.shuffle
    ? epochOrder(count, options.seed, options.epoch)
    : Array.from({ length: count }, (_, i) => i);
  const starts: number[] = [];
  for (let start = 0; start < count; start += options.batchSize) starts.push(start);
  const prefetch = Math.max(1, options.prefetch ?? 2);
  const pending: Promise<Batch>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < prefetch && next < starts.length) {
      const start = starts[next++];
      const batch = buildBatch(options, order, start, Math.min(count, start + options.batchSize), cache);
      // Rejections are observed when the batch is awaited; this keeps Node from reporting them early.
      batch.catch(() => undefined);
      pending.push(batch);
    }
  };
  fill();
  while (pending.length > 0) {
    const batch = await pending.shift()!;
    fill();
    yield batch;
  }
}
