/**
 * Axis-aligned boxes in pixel coordinates. `x1, y1` is the top-left corner and `x2, y2` the bottom-right
 * corner, both in continuous pixel coordinates where pixel (0, 0) covers [0, 1) x [0, 1).
 */

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A box found by a detector, with its confidence score in [0, 1] and its class index. */
export interface ScoredBox extends Box {
  score: number;
  classId: number;
}

export function boxArea(box: Box): number {
  return Math.max(0, box.x2 - box.x1) * Math.max(0, box.y2 - box.y1);
}

export function intersectionArea(a: Box, b: Box): number {
  const width = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const height = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return width > 0 && height > 0 ? width * height : 0;
}

/** Intersection over union; 0 when either box is empty. */
export function boxIou(a: Box, b: Box): number {
  const intersection = intersectionArea(a, b);
  if (intersection === 0) return 0;
  return intersection / (boxArea(a) + boxArea(b) - intersection);
}

/** Intersection over the area of the smaller box, so that a small box inside a large one scores 1. */
export function boxOverlapOfSmaller(a: Box, b: Box): number {
  const intersection = intersectionArea(a, b);
  if (intersection === 0) return 0;
  return intersection / Math.min(boxArea(a), boxArea(b));
}

/** Converts a centre/size box (YOLO convention) to corners. */
export function boxFromCentre(centreX: number, centreY: number, width: number, height: number): Box {
  return {
    x1: centreX - width / 2,
    y1: centreY - height / 2,
    x2: centreX + width / 2,
    y2: centreY + height / 2,
  };
}

/** Clips a box to [0, width] x [0, height]. */
export function clipBox<B extends Box>(box: B, width: number, height: number): B {
  return {
    ...box,
    x1: Math.min(Math.max(box.x1, 0), width),
    y1: Math.min(Math.max(box.y1, 0), height),
    x2: Math.min(Math.max(box.x2, 0), width),
    y2: Math.min(Math.max(box.y2, 0), height),
  };
}
