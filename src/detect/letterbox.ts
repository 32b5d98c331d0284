/**
 * Letterboxing: a slice is scaled to fit the square model input with its aspect ratio kept, centred, and the
 * border filled with a constant grey. Ultralytics YOLOv8 prepares its input this way (fill 114/255), so boxes
 * from its exported models map back to slice pixels with {@link letterboxToSlice}.
 */
import type { Box } from './box.ts';

/** Grey value of the letterbox border, on the [0, 1] scale: the 114 of 255 that Ultralytics fills with. */
export const LETTERBOX_FILL = 114 / 255;

export interface Letterbox {
  /** Model input side in pixels. */
  inputSize: number;
  /** Slice pixels to input pixels. */
  scale: number;
  /** Border added left and top, in input pixels. */
  padLeft: number;
  padTop: number;
  /** Size of the scaled slice inside the input, in input pixels. */
  scaledWidth: number;
  scaledHeight: number;
  sliceWidth: number;
  sliceHeight: number;
}

/** Computes the letterbox of a `sliceWidth x sliceHeight` slice in a square input, as Ultralytics rounds it. */
export function computeLetterbox(sliceWidth: number, sliceHeight: number, inputSize: number): Letterbox {
  if (!(sliceWidth > 0 && sliceHeight > 0 && inputSize > 0)) {
    throw new RangeError(
      `letterbox needs positive sizes, got slice ${sliceWidth}x${sliceHeight}, input ${inputSize}`,
    );
  }
  const scale = Math.min(inputSize / sliceWidth, inputSize / sliceHeight);
  const scaledWidth = Math.round(sliceWidth * scale);
  const scaledHeight = Math.round(sliceHeight * scale);
  const padLeft = Math.max(0, Math.round((inputSize - scaledWidth) / 2 - 0.1));
  const padTop = Math.max(0, Math.round((inputSize - scaledHeight) / 2 - 0.1));
  return { inputSize, scale, padLeft, padTop, scaledWidth, scaledHeight, sliceWidth, sliceHeight };
}

/** Maps a box from model-input pixels back to slice pixels, clipped to the slice. */
export function letterboxToSlice<B extends Box>(box: B, letterbox: Letterbox): B {
  const { scale, padLeft, padTop, sliceWidth, sliceHeight } = letterbox;
  const clip = (value: number, max: number): number => Math.min(Math.max(value, 0), max);
  return {
    ...box,
    x1: clip((box.x1 - padLeft) / scale, sliceWidth),
    y1: clip((box.y1 - padTop) / scale, sliceHeight),
    x2: clip((box.x2 - padLeft) / scale, sliceWidth),
    y2: clip((box.y2 - padTop) / scale, sliceHeight),
  };
}

/** Maps a box from slice pixels to model-input pixels. */
export function sliceToLetterbox<B extends Box>(box: B, letterbox: Letterbox): B {
  const { scale, padLeft, padTop } = letterbox;
  return {
    ...box,
    x1: box.x1 * scale + padLeft,
    y1: box.y1 * scale + padTop,
    x2: box.x2 * scale + padLeft,
    y2: box.y2 * scale + padTop,
  };
}

/**
 * Resizes a grey image (row-major, one value per pixel) with bilinear interpolation on pixel centres, the rule
 * of OpenCV's INTER_LINEAR when enlarging. Shrinking by more than 2 first averages 2x2 blocks so that thin
 * structures are not skipped.
 */
export function resizeBilinear(
  pixels: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  if (pixels.length !== width * height) {
    throw new RangeError(`image of ${pixels.length} values is not ${width}x${height}`);
  }
  if (outWidth === width && outHeight === height) return pixels.slice();
  if (width >= 2 * outWidth && height >= 2 * outHeight) {
    const halfWidth = Math.floor(width / 2);
    const halfHeight = Math.floor(height / 2);
    const half = new Float32Array(halfWidth * halfHeight);
    for (let y = 0; y < halfHeight; y++) {
      const row0 = 2 * y * width;
      const row1 = row0 + width;
      for (let x = 0; x < halfWidth; x++) {
        const x0 = 2 * x;
        half[y * halfWidth + x] =
          0.25 * (pixels[row0 + x0] + pixels[row0 + x0 + 1] + pixels[row1 + x0] + pixels[row1 + x0 + 1]);
      }
    }
    return resizeBilinear(half, halfWidth, halfHeight, outWidth, outHeight);
  }
  const out = new Float32Array(outWidth * outHeight);
  const scaleX = width / outWidth;
  const scaleY = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const sourceY = Math.min(Math.max((y + 0.5) * scaleY - 0.5, 0), height - 1);
    const y0 = Math.floor(sourceY);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = sourceY - y0;
    for (let x = 0; x < outWidth; x++) {
      const sourceX = Math.min(Math.max((x + 0.5) * scaleX - 0.5, 0), width - 1);
      const x0 = Math.floor(sourceX);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = sourceX - x0;
      const top = pixels[y0 * width + x0] * (1 - wx) + pixels[y0 * width + x1] * wx;
      const bottom = pixels[y1 * width + x0] * (1 - wx) + pixels[y1 * width + x1] * wx;
      out[y * outWidth + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/**
 * Builds the model input of one grey slice with values on the [0, 1] scale: an NCHW tensor of shape
 * `[1, channels, inputSize, inputSize]`, the grey image repeated in every channel (Ultralytics models read RGB).
 */
export function letterboxSlice(
  pixels: Float32Array,
  sliceWidth: number,
  sliceHeight: number,
  inputSize: number,
  channels = 1,
): { input: Float32Array; letterbox: Letterbox } {
  const letterbox = computeLetterbox(sliceWidth, sliceHeight, inputSize);
  const scaled = resizeBilinear(
    pixels,
    sliceWidth,
    sliceHeight,
    letterbox.scaledWidth,
    letterbox.scaledHeight,
  );
  const plane = new Float32Array(inputSize * inputSize).fill(LETTERBOX_FILL);
  for (let y = 0; y < letterbox.scaledHeight; y++) {
    const target = (y + letterbox.padTop) * inputSize + letterbox.padLeft;
    plane.set(scaled.subarray(y * letterbox.scaledWidth, (y + 1) * letterbox.scaledWidth), target);
  }
  const input = new Float32Array(channels * plane.length);
  for (let channel = 0; channel < channels; channel++) input.set(plane, channel * plane.length);
  return { input, letterbox };
}
