/** Greedy non-maximum suppression, as in Ultralytics YOLOv8 and torchvision.ops.nms. */
import { boxIou, type ScoredBox } from './box.ts';

export interface NmsOptions {
  /** Boxes whose IoU with a kept, higher-scoring box exceeds this value are removed. */
  iouThreshold: number;
  /** True: boxes of different classes never suppress each other. */
  perClass?: boolean;
  /** Keep at most this many boxes (highest scores first). */
  maxBoxes?: number;
}

/**
 * Returns the kept boxes, highest score first. A box is suppressed when its IoU with a kept box is strictly
 * greater than `iouThreshold`, the rule torchvision.ops.nms applies. Ties in score keep the input order.
 */
export function nonMaxSuppression<B extends ScoredBox>(boxes: readonly B[], options: NmsOptions): B[] {
  const order = boxes.map((_, index) => index).sort((a, b) => boxes[b].score - boxes[a].score || a - b);
  const maxBoxes = options.maxBoxes ?? Number.POSITIVE_INFINITY;
  const kept: B[] = [];
  for (const index of order) {
    if (kept.length >= maxBoxes) break;
    const candidate = boxes[index];
    const suppressed = kept.some(
      (keptBox) =>
        (!options.perClass || keptBox.classId === candidate.classId) &&
        boxIou(keptBox, candidate) > options.iouThreshold,
    );
    if (!suppressed) kept.push(candidate);
  }
  return kept;
}
