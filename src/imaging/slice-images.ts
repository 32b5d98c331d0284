/**
 * Readers for slice images: single PNG, JPEG or BMP files and folders of them. PNG goes through pngjs (8- and
 * 16-bit exactly), JPEG through sharp, BMP through lilnet's own decoder. The values are grey levels, never
 * Hounsfield units: these images were windowed before export, so the unit is `grey`.
 *
 * Slice order in a folder is numeric when every file name (without extension) is an integer
 * (`0.jpg, 1.jpg, ..., 10.jpg`). Otherwise it is natural order, which compares digit runs as numbers
 * (`s2.png` before `s10.png`).
 */
import { basename, extname } from 'node:path';
import pngjs from 'pngjs';
import sharp from 'sharp';
import { LilnetError } from '../errors.ts';
import { readInputFile } from '../read-input-file.ts';
import { decodeBmp } from './bmp.ts';
import type { Series } from './volume.ts';

export const SLICE_IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

export interface SliceImage {
  file: string;
  width: number;
  height: number;
  /** Grey levels, row by row: 0..255 for 8-bit images, 0..65535 for 16-bit ones. */
  values: Float32Array;
  bitDepth: 8 | 16;
  /** True when the file stored colour (RGB) samples that were not all grey. */
  convertedFromColour: boolean;
}

function invalidImage(file: string, reason: string, cause?: unknown): LilnetError {
  return new LilnetError('IMAGE_INVALID', `slice image ${file} cannot be read: ${reason}`, {
    file,
    hint: 'check that the file is an intact PNG, JPEG or BMP image',
    cause,
  });
}

/** Reduces interleaved samples to grey: the first channel when R = G = B everywhere, else BT.601 luminance. */
function toGrey(
  samples: ArrayLike<number>,
  pixelCount: number,
  channels: number,
): { values: Float32Array; colour: boolean } {
  const values = new Float32Array(pixelCount);
  if (channels === 1 || channels === 2) {
    for (let i = 0; i < pixelCount; i++) values[i] = samples[i * channels];
    return { values, colour: false };
  }
  let colour = false;
  for (let i = 0; i < pixelCount; i++) {
    const r = samples[i * channels];
    const g = samples[i * channels + 1];
    const b = samples[i * channels + 2];
    if (r !== g || g !== b) colour = true;
    values[i] = r;
  }
  if (!colour) return { values, colour };
  for (let i = 0; i < pixelCount; i++) {
    const r = samples[i * channels];
    const g = samples[i * channels + 1];
    const b = samples[i * channels + 2];
    values[i] = 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return { values, colour };
}

/** True when the last 12 bytes are a PNG IEND chunk (length 0, type IEND, CRC AE 42 60 82). */
function endsWithIendChunk(bytes: Buffer): boolean {
  const iend = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
  return bytes.length >= 12 && bytes.subarray(bytes.length - 12).equals(iend);
}

function readPng(bytes: Buffer, file: string): SliceImage {
  let png: pngjs.PNGWithMetadata;
  try {
    png = pngjs.PNG.sync.read(bytes, { skipRescale: true } as pngjs.ParserOptions);
  } catch (error) {
    // pngjs reports a cut-off file with a stream message ("read requests waiting on finished stream").
    if (!endsWithIendChunk(bytes)) {
      throw invalidImage(
        file,
        `the file ends before the PNG end chunk (IEND) after ${bytes.length} bytes: it is truncated`,
        error,
      );
    }
    throw invalidImage(file, (error as Error).message, error);
  }
  const { width, height } = png;
  // pngjs always returns RGBA: 8-bit in a Buffer, 16-bit (with skipRescale) in a Uint16Array.
  const samples = png.data as unknown as ArrayLike<number>;
  const { values, colour } = toGrey(samples, width * height, 4);
  return { file, width, height, values, bitDepth: png.depth === 16 ? 16 : 8, convertedFromColour: colour };
}

async function readWithSharp(bytes: Buffer, file: string): Promise<SliceImage> {
  try {
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const sixteenBit = (info as { depth?: string }).depth === 'ushort';
    const samples = sixteenBit ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
    const { values, colour } = toGrey(samples, info.width * info.height, info.channels);
    return {
      file,
      width: info.width,
      height: info.height,
      values,
      bitDepth: sixteenBit ? 16 : 8,
      convertedFromColour: colour,
    };
  } catch (error) {
    throw invalidImage(file, (error as Error).message, error);
  }
}

/** Decodes one slice image file (PNG, JPEG or BMP, chosen by content) to grey levels. */
export async function decodeSliceImage(file: string): Promise<SliceImage> {
  const bytes = await readInputFile(file);
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return readPng(bytes, file);
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    const bmp = decodeBmp(bytes, file);
    const { values, colour } = toGrey(bmp.data, bmp.width * bmp.height, bmp.channels);
    return { file, width: bmp.width, height: bmp.height, values, bitDepth: 8, convertedFromColour: colour };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) return readWithSharp(bytes, file);
  throw invalidImage(file, 'the content is not PNG, JPEG or BMP');
}

/** Builds a grey-level series from decoded slices of one size, in the given order. */
export function sliceImagesToSeries(id: string, images: SliceImage[], description?: string): Series {
  const { width, height } = images[0];
  const warnings: string[] = [];
  const voxels = new Float32Array(width * height * images.length);
  images.forEach((image, z) => voxels.set(image.values, z * width * height));
  const colour = images.filter((image) => image.convertedFromColour).length;
  if (colour > 0) warnings.push(`${colour} colour slice(s) converted to grey luminance`);
  const depths = new Set(images.map((image) => image.bitDepth));
  warnings.push(
    `${[...depths].join('- and ')}-bit slice images: values are display grey levels, not Hounsfield units, and spacing is unknown`,
  );
  return {
    id,
    phase: 'unknown',
    phaseSource: 'unknown',
    unit: 'grey',
    voxels,
    geometry: {
      dimensions: [width, height, images.length],
      spacingMm: [1, 1, 1],
      spacingKnown: false,
      originMm: null,
      direction: { row: [1, 0, 0], column: [0, 1, 0], slice: [0, 0, 1] },
    },
    sliceFiles: images.map((image) => image.file),
    description,
    warnings,
  };
}

/** Reads a single slice image as a one-slice grey-level series; its id is the file name. */
export async function readSliceImage(file: string): Promise<Series> {
  const image = await decodeSliceImage(file);
  return sliceImagesToSeries(basename(file), [image]);
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

/** Orders slice file paths: numeric when every stem is an integer, otherwise natural order. */
export function orderSliceFiles(files: string[]): string[] {
  const stem = (file: string): string => basename(file, extname(file));
  if (files.every((file) => /^\d+$/.test(stem(file)))) {
    return [...files].sort((a, b) => Number(stem(a)) - Number(stem(b)) || naturalCompare(a, b));
  }
  return [...files].sort((a, b) => naturalCompare(basename(a), basename(b)));
}

export function isSliceImageFile(file: string): boolean {
  return SLICE_IMAGE_EXTENSIONS.has(extname(file).toLowerCase());
}
