/**
 * The modality LUT of DICOM images: `stored * RescaleSlope + RescaleIntercept`. Padding voxels (PixelPaddingValue,
 * or the range it spans with PixelPaddingRangeLimit) get the lowest modality value of the non-padding voxels,
 * so they read as air in CT and never as a spurious extreme.
 *
 * Frames keep their stored values (often a view of the file bytes) and rescale on demand, so a series is
 * rescaled straight into its volume without an intermediate copy per slice.
 */
import type { ImageAttributes } from './attributes.ts';

export type StoredValues = Int32Array | Int16Array | Uint16Array;

export interface ModalityRescale {
  slope: number;
  intercept: number;
  /** Stored padding range, inclusive; empty (low > high) when the image has no padding value. */
  paddingLow: number;
  paddingHigh: number;
  /** Modality value given to padding voxels. */
  paddingFill: number;
  /** Number of padding voxels in the whole image (all frames). */
  paddedCount: number;
}

/** Prepares the rescale of an image, scanning its stored values once when it declares a padding value. */
export function prepareRescale(stored: StoredValues, attributes: ImageAttributes): ModalityRescale {
  const { rescaleSlope: slope, rescaleIntercept: intercept } = attributes;
  const padding = attributes.pixelPaddingValue;
  if (padding === undefined) {
    return { slope, intercept, paddingLow: 1, paddingHigh: 0, paddingFill: 0, paddedCount: 0 };
  }
  const limit = attributes.pixelPaddingRangeLimit ?? padding;
  const low = Math.min(padding, limit);
  const high = Math.max(padding, limit);
  let paddedCount = 0;
  let minimumStored = Infinity;
  let maximumStored = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    if (value >= low && value <= high) {
      paddedCount++;
      continue;
    }
    if (value < minimumStored) minimumStored = value;
    if (value > maximumStored) maximumStored = value;
  }
  // The lowest modality value comes from the lowest stored value unless the slope is negative.
  const lowestStored = slope >= 0 ? minimumStored : maximumStored;
  const paddingFill = Number.isFinite(lowestStored) ? lowestStored * slope + intercept : intercept;
  return { slope, intercept, paddingLow: low, paddingHigh: high, paddingFill, paddedCount };
}

/** Writes the modality values of `stored` into `target` (same length). */
export function rescaleInto(stored: StoredValues, rescale: ModalityRescale, target: Float32Array): void {
  const { slope, intercept, paddingLow, paddingHigh, paddingFill } = rescale;
  if (paddingLow > paddingHigh || rescale.paddedCount === 0) {
    for (let i = 0; i < stored.length; i++) target[i] = stored[i] * slope + intercept;
    return;
  }
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    target[i] = value >= paddingLow && value <= paddingHigh ? paddingFill : value * slope + intercept;
  }
}
