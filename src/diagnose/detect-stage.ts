/**
 * The detection stage: every slice of a series is windowed and run through the detector (src/detect), and the
 * boxes are grouped across neighbouring slices into one track per lesion.
 */
import { detectOnSlices, type DetectorSession } from '../detect/detector-session.ts';
import { groupLesions, sliceDetectionsFromSeries } from '../detect/grouping.ts';
import type { GreySlice } from '../detect/slice-image.ts';
import type { Series } from '../imaging/volume.ts';
import type { PhaseTrack } from './match-phases.ts';
import type { DetectionSettings } from './report-types.ts';
import { sliceToGrey } from './slice-grey.ts';

/** Slices windowed and handed to the detector at a time, to bound memory on long series. */
const SLICES_PER_CALL = 16;

/** Runs the detector over every slice of a series and returns its lesion tracks. */
export async function detectSeries(
  detector: DetectorSession,
  series: Series,
  settings: DetectionSettings,
): Promise<PhaseTrack[]> {
  const [columns, rows, sliceCount] = series.geometry.dimensions;
  const boxesPerSlice: { x1: number; y1: number; x2: number; y2: number; score: number }[][] = [];
  for (let start = 0; start < sliceCount; start += SLICES_PER_CALL) {
    const slices: GreySlice[] = [];
    for (let z = start; z < Math.min(sliceCount, start + SLICES_PER_CALL); z++) {
      slices.push({ width: columns, height: rows, pixels: sliceToGrey(series, z, settings.window, true) });
    }
    const detected = await detectOnSlices(detector, slices, {
      confidenceThreshold: settings.confidenceThreshold,
      nmsIouThreshold: settings.nmsIouThreshold,
    });
    for (const boxes of detected) {
      boxesPerSlice.push(
        boxes
          .filter((box) => box.x2 - box.x1 >= 1 && box.y2 - box.y1 >= 1)
          .map((box) => ({ x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: box.score })),
      );
    }
  }

  const grouped = groupLesions(sliceDetectionsFromSeries(series, boxesPerSlice));
  return grouped.map((lesion) => ({
    series,
    boxes: lesion.phases.flatMap((extent) =>
      extent.boxes.map((box) => ({
        sliceIndex: box.sliceIndex,
        confidence: box.score,
        box: { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 },
      })),
    ),
  }));
}
