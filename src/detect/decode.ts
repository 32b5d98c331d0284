/**
 * Decoding of the YOLOv8 output convention shared by Ultralytics ONNX exports and lilnet's own detector: one
 * tensor of shape `[batch, 4 + classes, anchors]` whose rows per anchor are box centre x, centre y, width and
 * height in model-input pixels, then one score per class (already passed through a sigmoid).
 */
import { boxFromCentre, type ScoredBox } from './box.ts';
import { nonMaxSuppression } from './nms.ts';

/** Confidence threshold of the LiLNet study's YOLOv8 detector. */
export const DEFAULT_CONFIDENCE_THRESHOLD = 0.25;
/** NMS IoU threshold of the LiLNet study's YOLOv8 detector. */
export const DEFAULT_NMS_IOU_THRESHOLD = 0.5;
/** Ultralytics' default cap on boxes per image after NMS. */
export const DEFAULT_MAX_DETECTIONS = 300;

export interface DecodeOptions {
  confidenceThreshold?: number;
  nmsIouThreshold?: number;
  maxDetections?: number;
  /** True (default, as Ultralytics): NMS acts within each class; false: across classes. */
  nmsPerClass?: boolean;
}

/**
 * Decodes the output of one image of the batch into boxes in model-input pixels, after the confidence threshold
 * and NMS. Each anchor yields at most one box, of its best class, kept when that score reaches the threshold.
 */
export function decodeYoloOutput(
  output: Float32Array,
  dims: readonly number[],
  options: DecodeOptions = {},
  batchIndex = 0,
): ScoredBox[] {
  if (dims.length !== 3 || dims[1] < 5) {
    throw new RangeError(
      `expected a YOLOv8 output of shape [batch, 4 + classes, anchors], got [${dims.join(', ')}]`,
    );
  }
  const [batch, rows, anchors] = dims;
  if (output.length !== batch * rows * anchors) {
    throw new RangeError(
      `output has ${output.length} values, shape [${dims.join(', ')}] needs ${batch * rows * anchors}`,
    );
  }
  if (batchIndex < 0 || batchIndex >= batch)
    throw new RangeError(`batch index ${batchIndex} outside [0, ${batch})`);
  const threshold = options.confidenceThreshold ?? DEFAULT_CONFIDENCE_THRESHOLD;
  const classes = rows - 4;
  const base = batchIndex * rows * anchors;
  const candidates: ScoredBox[] = [];
  for (let anchor = 0; anchor < anchors; anchor++) {
    let bestClass = 0;
    let bestScore = output[base + 4 * anchors + anchor];
    for (let classId = 1; classId < classes; classId++) {
      const score = output[base + (4 + classId) * anchors + anchor];
      if (score > bestScore) {
        bestScore = score;
        bestClass = classId;
      }
    }
    if (!(bestScore >= threshold)) continue;
    const centreX = output[base + anchor];
    const centreY = output[base + anchors + anchor];
    const width = output[base + 2 * anchors + anchor];
    const height = output[base + 3 * anchors + anchor];
    if (!(width > 0 && height > 0)) continue;
    candidates.push({
      ...boxFromCentre(centreX, centreY, width, height),
      score: bestScore,
      classId: bestClass,
    });
  }
  return nonMaxSuppression(candidates, {
    iouThreshold: options.nmsIouThreshold ?? DEFAULT_NMS_IOU_THRESHOLD,
    perClass: options.nmsPerClass ?? true,
    maxBoxes: options.maxDetections ?? DEFAULT_MAX_DETECTIONS,
  });
}
