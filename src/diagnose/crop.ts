/**
 * Lesion crops for the classifiers. The LiLNet authors did not publish how their crops were cut, so lilnet uses
 * one documented rule, for diagnosis and for training data alike:
 *
 * - the crop is a square centred on the detector box, of side `max(box width, box height) * (1 + 2 * margin)`
 *   with `margin = 0.25`, so the lesion fills about two thirds of the crop and the surrounding parenchyma, against
 *   which enhancement is judged, stays visible;
 * - the side is at least 32 pixels, so that tiny lesions are not enlarged from a handful of pixels;
 * - parts of the square outside the slice are filled with grey level 0 (black, like air after windowing);
 * - HU slices are windowed before cropping (see {@link CROP_WINDOW}); display-ready grey images are used as they are.
 */
import type { Box } from '../detect/box.ts';
import type { DisplayWindow } from '../imaging/volume.ts';

export const CROP_MARGIN_FRACTION = 0.25;
export const CROP_MIN_SIDE_PX = 32;
/** Side of the classifier input, as the LiLNet study uses. */
export const CLASSIFIER_INPUT_SIZE_PX = 224;
/**
 * Window applied to HU slices before cropping: the abdominal soft-tissue window (centre 40 HU, width 400 HU),
 * the usual reading window for liver lesions on contrast CT.
 */
export const CROP_WINDOW: DisplayWindow = { centre: 40, width: 400 };

/** The square crop region of a box in slice pixels; it may extend past the slice edges. */
export function cropRegion(box: Box, marginFraction = CROP_MARGIN_FRACTION, minSidePx = CROP_MIN_SIDE_PX): Box {
  const side = Math.max(minSidePx, Math.max(box.x2 - box.x1, box.y2 - box.y1) * (1 + 2 * marginFraction));
  const centreX = (box.x1 + box.x2) / 2;
  const centreY = (box.y1 + box.y2) / 2;
  // Whole pixels, so that the crop is an exact copy of slice pixels without resampling.
  const sidePx = Math.round(side);
  const x1 = Math.round(centreX - sidePx / 2);
  const y1 = Math.round(centreY - sidePx / 2);
  return { x1, y1, x2: x1 + sidePx, y2: y1 + sidePx };
}

/**
 * Copies the region out of a grey slice (row-major, `width x height`), filling pixels outside the slice with 0.
 * The region must have whole-pixel corners, as {@link cropRegion} returns.
 */
export function extractRegion(slice: ArrayLike<number>, width: number, height: number, region: Box): Float32Array {
  const regionWidth = region.x2 - region.x1;
  const regionHeight = region.y2 - region.y1;
  if (!Number.isInteger(region.x1) || !Number.isInteger(region.y1) || regionWidth <= 0 || regionHeight <= 0) {
    throw new RangeError(`crop region ${JSON.stringify(region)} must have whole-pixel corners and a positive size`);
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
