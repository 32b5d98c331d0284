/**
 * The detection stage: every slice of a series is windowed, letterboxed and run through the detector; the boxes
 * are decoded, mapped back to slice pixels and grouped across neighbouring slices into one track per lesion.
 */
import { decodeYoloOutput } from '../detect/decode.ts';
import { groupLesions, sliceDetectionsFromSeries } from '../detect/grouping.ts';
import { letterboxSlice, letterboxToSlice, type Letterbox } from '../detect/letterbox.ts';
import type { Box } from '../detect/box.ts';
import type { Series } from '../imaging/volume.ts';
import type { PhaseTrack } from './match-phases.ts';
import type { OnnxDetector } from './onnx-models.ts';
import { sliceToGrey } from './slice-grey.ts';
import type { DetectionSettings } from './report-types.ts';

/** Runs the detector over every slice of a series and returns its lesion tracks, largest confidence first. */
export async function detectSeries(detector: OnnxDetector, series: Series, settings: DetectionSettings): Promise<PhaseTrack[]> {
  const [columns, rows, slices] = series.geometry.dimensions;
  const side = detector.inputSidePx;
  const perImage = 3 * side * side;
  const boxesPerSlice: (Box & { score: number })[][] = [];

  for (let start = 0; start < slices; start += detector.batchSize) {
    const count = Math.min(detector.batchSize, slices - start);
    const input = new Float32Array(count * perImage);
    const letterboxes: Letterbox[] = [];
    for (let i = 0; i < count; i++) {
      const grey = sliceToGrey(series, start + i, settings.window);
      for (let p = 0; p < grey.length; p++) grey[p] /= 255;
      const { input: image, letterbox } = letterboxSlice(grey, columns, rows, side, 3);
      input.set(image, i * perImage);
      letterboxes.push(letterbox);
    }
    const output = await detector.run(input, count);
    for (let i = 0; i < count; i++) {
      const boxes = decodeYoloOutput(
        output.data,
        output.dims,
        { confidenceThreshold: settings.confidenceThreshold, nmsIouThreshold: settings.nmsIouThreshold },
        i,
      );
      boxesPerSlice.push(
        boxes
          .map((box) => letterboxToSlice(box, letterboxes[i]))
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
