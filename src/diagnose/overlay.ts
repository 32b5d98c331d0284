/**
 * Overlay images of the report: a grey slice turned RGB, lesion boxes drawn on it, and class-activation
 * heatmaps blended over a lesion's crop region, written as PNG with sharp.
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Box } from '../detect/box.ts';
import { resizeBilinear } from '../detect/letterbox.ts';

/** An 8-bit RGB image, row-major, three bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type Rgb = [number, number, number];

/** Box colours by lesion index, chosen to stay distinct on grey CT and in greyscale print. */
export const LESION_COLOURS: readonly Rgb[] = [
  [255, 64, 64],
  [64, 160, 255],
  [255, 200, 0],
  [0, 220, 120],
  [220, 90, 255],
  [255, 140, 0],
];

export function lesionColour(index: number): Rgb {
  return LESION_COLOURS[index % LESION_COLOURS.length];
}

/** Converts grey levels in [0, 255] (any numeric array, row-major) to RGB. */
export function greyToRgb(grey: ArrayLike<number>, width: number, height: number): RgbImage {
  if (grey.length !== width * height)
    throw new RangeError(`grey image of ${grey.length} values is not ${width}x${height}`);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const value = Math.min(255, Math.max(0, Math.round(grey[i])));
    data[3 * i] = value;
    data[3 * i + 1] = value;
    data[3 * i + 2] = value;
  }
  return { width, height, data };
}

/** Draws the outline of a box, `thicknessPx` pixels wide inside its edge, clipped to the image. */
export function drawBox(image: RgbImage, box: Box, colour: Rgb, thicknessPx = 2): void {
  const x1 = Math.max(0, Math.floor(box.x1));
  const y1 = Math.max(0, Math.floor(box.y1));
  const x2 = Math.min(image.width, Math.ceil(box.x2));
  const y2 = Math.min(image.height, Math.ceil(box.y2));
  const put = (x: number, y: number): void => {
    const offset = 3 * (y * image.width + x);
    image.data[offset] = colour[0];
    image.data[offset + 1] = colour[1];
    image.data[offset + 2] = colour[2];
  };
  for (let t = 0; t < thicknessPx; t++) {
    for (let x = x1; x < x2; x++) {
      if (y1 + t < y2) put(x, y1 + t);
      if (y2 - 1 - t >= y1) put(x, y2 - 1 - t);
    }
    for (let y = y1; y < y2; y++) {
      if (x1 + t < x2) put(x1 + t, y);
      if (x2 - 1 - t >= x1) put(x2 - 1 - t, y);
    }
  }
}

/** Maps a value in [0, 1] to a blue-cyan-yellow-red colour scale (the usual "jet" ramp). */
export function heatColour(value: number): Rgb {
  const v = Math.min(1, Math.max(0, value));
  const channel = (centre: number): number =>
    Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - centre))));
  return [channel(3), channel(2), channel(1)];
}

/**
 * Blends a heatmap (values in [0, 1], `heatWidth x heatHeight`) over the region `box` of the image. The heatmap is
 * resized bilinearly to the region; each pixel's opacity is `maxAlpha * value`, so cold areas leave the CT visible.
 */
export function blendHeatmap(
  image: RgbImage,
  heat: Float32Array,
  heatWidth: number,
  heatHeight: number,
  box: Box,
  maxAlpha = 0.55,
): void {
  const x1 = Math.max(0, Math.round(box.x1));
  const y1 = Math.max(0, Math.round(box.y1));
  const x2 = Math.min(image.width, Math.round(box.x2));
  const y2 = Math.min(image.height, Math.round(box.y2));
  const regionWidth = x2 - x1;
  const regionHeight = y2 - y1;
  if (regionWidth <= 0 || regionHeight <= 0) return;
  const resized = resizeBilinear(heat, heatWidth, heatHeight, regionWidth, regionHeight);
  for (let y = 0; y < regionHeight; y++) {
    for (let x = 0; x < regionWidth; x++) {
      const value = resized[y * regionWidth + x];
      const alpha = maxAlpha * Math.min(1, Math.max(0, value));
      const colour = heatColour(value);
      const offset = 3 * ((y1 + y) * image.width + (x1 + x));
      for (let c = 0; c < 3; c++) {
        image.data[offset + c] = Math.round((1 - alpha) * image.data[offset + c] + alpha * colour[c]);
      }
    }
  }
}

/** Encodes the image as PNG; writes it to `path` when given and returns the bytes. */
export async function encodePng(image: RgbImage, path?: string): Promise<Buffer> {
  const png = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ compressionLevel: 6 })
    .toBuffer();
  if (path) await writeFile(path, png);
  return png;
}
