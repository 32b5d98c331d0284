/**
 * Target assignment for training lilnet's detector (centre sampling, as FCOS does). An anchor point is a
 * positive of a truth box when it lies inside the box, within `CENTRE_RADIUS_STRIDES` strides of the box
 * centre on both axes, and every side distance fits the `regMax - 1` strides the head can express. An anchor
 * claimed by several boxes takes the smallest. A box that claims no anchor takes the anchor nearest its centre
 * on the finest level where it fits.
 */
import type { Box } from './box.ts';

export const CENTRE_RADIUS_STRIDES = 2.5;

export interface AnchorGrid {
  x: Float32Array;
  y: Float32Array;
  stride: Float32Array;
}

export interface AnchorTargets {
  /** Per anchor, the index of its truth box, or -1 for background. */
  assigned: Int32Array;
  /** `[4, anchors]` side distances (left, top, right, bottom) in strides; 0 for background. */
  distances: Float32Array;
  positiveCount: number;
}

function sideDistances(box: Box, x: number, y: number, stride: number): [number, number, number, number] {
  return [(x - box.x1) / stride, (y - box.y1) / stride, (box.x2 - x) / stride, (box.y2 - y) / stride];
}

export function assignTargets(boxes: readonly Box[], anchors: AnchorGrid, regMax: number): AnchorTargets {
  const count = anchors.x.length;
  const assigned = new Int32Array(count).fill(-1);
  const assignedArea = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
  const maxDistance = regMax - 1 - 0.01;

  boxes.forEach((box, boxIndex) => {
    const area = (box.x2 - box.x1) * (box.y2 - box.y1);
    const centreX = (box.x1 + box.x2) / 2;
    const centreY = (box.y1 + box.y2) / 2;
    let claimed = false;
    for (let anchor = 0; anchor < count; anchor++) {
      const x = anchors.x[anchor];
      const y = anchors.y[anchor];
      const stride = anchors.stride[anchor];
      if (x <= box.x1 || x >= box.x2 || y <= box.y1 || y >= box.y2) continue;
      const radius = CENTRE_RADIUS_STRIDES * stride;
      if (Math.abs(x - centreX) > radius || Math.abs(y - centreY) > radius) continue;
      if (Math.max(...sideDistances(box, x, y, stride)) > maxDistance) continue;
      claimed = true;
      if (area < assignedArea[anchor]) {
        assigned[anchor] = boxIndex;
        assignedArea[anchor] = area;
      }
    }
    if (claimed) return;
    // Fallback for boxes smaller than a cell or off the sampling grid: the nearest anchor that can express it.
    let best = -1;
    let bestDistance = Number.POSITIVE_INFINITY;
    let bestStride = Number.POSITIVE_INFINITY;
    for (let anchor = 0; anchor < count; anchor++) {
      const stride = anchors.stride[anchor];
      const distances = sideDistances(box, anchors.x[anchor], anchors.y[anchor], stride);
      if (Math.max(...distances.map(Math.abs)) > maxDistance) continue;
      const distance = Math.hypot(anchors.x[anchor] - centreX, anchors.y[anchor] - centreY);
      if (stride < bestStride || (stride === bestStride && distance < bestDistance)) {
        best = anchor;
        bestDistance = distance;
        bestStride = stride;
      }
    }
    if (best >= 0 && assigned[best] < 0) assigned[best] = boxIndex;
  });

  const distances = new Float32Array(4 * count);
  let positiveCount = 0;
  for (let anchor = 0; anchor < count; anchor++) {
    const boxIndex = assigned[anchor];
    if (boxIndex < 0) continue;
    positiveCount++;
    const sides = sideDistances(
      boxes[boxIndex],
      anchors.x[anchor],
      anchors.y[anchor],
      anchors.stride[anchor],
    );
    // The fallback anchor may sit outside a tiny box; its distances are clamped to the expressible range.
    sides.forEach(
      (value, side) => (distances[side * count + anchor] = Math.min(Math.max(value, 0), maxDistance)),
    );
  }
  return { assigned, distances, positiveCount };
}
