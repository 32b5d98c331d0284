/** Position synchronisation between series of one case (phases), for the viewer's phase switching. */
import type { SeriesInfo } from './api.ts';

type Geometry = SeriesInfo['geometry'];

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * Returns the slice of `to` nearest to slice z of `from`. With positions and spacing known in both series, the
 * patient-space centre of slice z is projected onto the slice normal of `to`. Otherwise the relative index is
 * kept (the first slice maps to the first, the last to the last).
 */
export function synchronisedSlice(
  from: { geometry: Geometry },
  z: number,
  to: { geometry: Geometry },
): number {
  const count = to.geometry.dimensions[2];
  const clamp = (value: number) => Math.max(0, Math.min(count - 1, Math.round(value)));
  const a = from.geometry;
  const b = to.geometry;
  if (a.originMm && b.originMm && a.spacingKnown && b.spacingKnown) {
    const position = a.originMm.map((origin, i) => origin + a.direction.slice[i] * a.spacingMm[2] * z);
    const offset = position.map((p, i) => p - b.originMm![i]);
    return clamp(dot(offset, b.direction.slice) / b.spacingMm[2]);
  }
  const fromCount = a.dimensions[2];
  return clamp(fromCount > 1 ? (z / (fromCount - 1)) * (count - 1) : 0);
}
