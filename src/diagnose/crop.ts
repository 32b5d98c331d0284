/**
 * Lesion crops for the classifiers. The LiLNet authors did not publish how their crops were cut, so lilnet uses
 * one documented rule, the same as `lilnet synth` uses for its training crops (src/data/synth/generate.ts):
 *
 * - the crop is a square centred on the detector box, of side `ceil(max(box width, box height) * (1 + 2 *
 *   margin))` with `margin = 0.25`, so the lesion fills about two thirds of the crop and the surrounding
 *   parenchyma, against which enhancement is judged, stays visible;
 * - the side is at least 8 pixels and at most the slice's shorter side;
 * - a square that would cross the slice edge is moved inside the slice rather than padded;
 * - HU slices are windowed first with {@link CROP_WINDOW}; display-ready grey images are used as they are.
 */
import type { Box } from '../detect/box.ts';
import { DEFAULT_CROP_WINDOW } from '../data/synth/options.ts';
import type { DisplayWindow } from '../imaging/volume.ts';

export const CROP_MARGIN_FRACTION = 0.25;
export const CROP_MIN_SIDE_PX = 8;
/** Side of the classifier input, as the LiLNet study uses. */
export const CLASSIFIER_INPUT_SIZE_PX = 224;
/** Window applied to HU slices before cropping: centre 50 HU, width 350 HU, as the training crops use. */
export const CROP_WINDOW: DisplayWindow = DEFAULT_CROP_WINDOW;

/** Computes the square crop region of a box in a `width x height` slice, in whole pixels, inside the slice. */
export function cropRegion(
  box: Box,
  width: number,
  height: number,
  marginFraction = CROP_MARGIN_FRACTION,
  minSidePx = CROP_MIN_SIDE_PX,
): Box {
  const longer = Math.max(box.x2 - box.x1, box.y2 - box.y1);
  const side = Math.min(width, height, Math.max(minSidePx, Math.ceil(longer * (1 + 2 * marginFraction))));
  const centreX = (box.x1 + box.x2) / 2;
  const centreY = (box.y1 + box.y2) / 2;
  const x1 = Math.min(width - side, Math.max(0, Math.round(centreX - side / 2)));
  const y1 = Math.min(height - side, Math.max(0, Math.round(centreY - side / 2)));
  return { x1, y1, x2: x1 + side, y2: y1 + side };
}

/**
 * Copies the region out of a grey slice (row-major, `width x height`). Pixels outside the slice read as 0,
 * though {@link cropRegion} never returns such a region. The region must have whole-pixel corners.
 */
export function extractRegion(
  slice: ArrayLike<number>,
  width: number,
  height: number,
  region: Box,
): Float32Array {
  const regionWidth = region.x2 - region.x1;
  const regionHeight = region.y2 - region.y1;
  if (!Number.isInteger(region.x1) || !Number.isInteger(region.y1) || regionWidth <= 0 || regionHeight <= 0) {
    throw new RangeError(
      `crop region ${JSON.stringify(region)} must have whole-pixel corners and a positive size`,
    );
  }
  const out = new Float32Array(regionWidth * regionHeight);
  for (let y = 0; y < regionHeight; y++) {
    const sourceY = region.y1 + y;
    if (sourceY < 0 || sourceY >= height) continue;
    for (let x = 0; x < regionWidth; x++) {
      const sourceX = region.x1 + x;
      if (sourceX < 0 || sourceX >= width) continue;
      out[y * regionWidth + x] = slice[sourceY * width + sourceX];
    }
  }
  return out;
}
