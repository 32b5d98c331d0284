/**
 * Matching of lesions across phases. The detector finds lesions in each phase separately; the same lesion seen
 * in the arterial and the portal-venous series must become one lesion of the report so that its crops of both
 * phases are classified together.
 *
 * Where both series carry patient-space geometry, lesions match when their centres lie within a distance
 * tolerance that allows for breathing between acquisitions. Without geometry (slice images), they match when
 * their slice ranges overlap (as fractions of each series' extent) and their in-plane boxes overlap.
 */
import { boxIou, type Box } from '../detect/box.ts';
import type { Series } from '../imaging/volume.ts';
import type { SliceBox } from './report-types.ts';

/** Minimum centre distance tolerance in mm: liver position shifts by up to about this much between breath holds. */
export const MIN_MATCH_DISTANCE_MM = 15;
/** The tolerance grows to this fraction of the larger lesion diameter for large lesions. */
export const MATCH_DISTANCE_DIAMETER_FRACTION = 0.75;
/** Minimum IoU of the in-plane union boxes for a slice-overlap match. */
export const MIN_IN_PLANE_IOU = 0.1;

/** One lesion as grouped across the slices of one series. */
export interface PhaseTrack {
  series: Series;
  boxes: SliceBox[];
}

/** Lesions linked across phases; `tracks` contains at most one track per series. */
export interface MatchedLesion {
  tracks: PhaseTrack[];
  matchedBy: 'position' | 'slice-overlap' | 'single-phase';
}

/** Returns the smallest box containing every box of a track, in pixels. */
export function unionBox(boxes: readonly SliceBox[]): Box {
  return {
    x1: Math.min(...boxes.map((b) => b.box.x1)),
    y1: Math.min(...boxes.map((b) => b.box.y1)),
    x2: Math.max(...boxes.map((b) => b.box.x2)),
    y2: Math.max(...boxes.map((b) => b.box.y2)),
  };
}

function hasGeometry(series: Series): boolean {
  return series.geometry.originMm !== null && series.geometry.spacingKnown;
}

/** Patient-space (LPS, mm) position of a continuous voxel coordinate; the voxel centre (0, 0, 0) is the origin. */
export function voxelToPatientMm(series: Series, x: number, y: number, z: number): [number, number, number] {
  const { originMm, spacingMm, direction } = series.geometry;
  if (!originMm) throw new RangeError(`series ${series.id} has no patient-space origin`);
  const out: [number, number, number] = [0, 0, 0];
  for (let axis = 0; axis < 3; axis++) {
    out[axis] =
      originMm[axis] +
      x * spacingMm[0] * direction.row[axis] +
      y * spacingMm[1] * direction.column[axis] +
      z * spacingMm[2] * direction.slice[axis];
  }
  return out;
}

/**
 * Centre of a track in patient space, or null without geometry. Box corners are continuous pixel coordinates
 * (pixel i covers [i, i + 1)), so the voxel coordinate of a box centre is its mid-point minus 0.5.
 */
export function trackCentreMm(track: PhaseTrack): [number, number, number] | null {
  if (!hasGeometry(track.series)) return null;
  const union = unionBox(track.boxes);
  const slices = track.boxes.map((b) => b.sliceIndex);
  const z = (Math.min(...slices) + Math.max(...slices)) / 2;
  return voxelToPatientMm(track.series, (union.x1 + union.x2) / 2 - 0.5, (union.y1 + union.y2) / 2 - 0.5, z);
}

/** Largest extent of a track in mm (in-plane box sides and slice range); null without known spacing. */
export function trackDiameterMm(track: PhaseTrack): number | null {
  if (!track.series.geometry.spacingKnown) return null;
  const [sx, sy, sz] = track.series.geometry.spacingMm;
  const union = unionBox(track.boxes);
  const slices = track.boxes.map((b) => b.sliceIndex);
  const depth = (Math.max(...slices) - Math.min(...slices) + 1) * sz;
  return Math.max((union.x2 - union.x1) * sx, (union.y2 - union.y1) * sy, depth);
}

/** Patient-space centre of one box of a track (see {@link trackCentreMm} for the half-pixel shift). */
function boxCentreMm(track: PhaseTrack, box: SliceBox): [number, number, number] {
  return voxelToPatientMm(
    track.series,
    (box.box.x1 + box.box.x2) / 2 - 0.5,
    (box.box.y1 + box.box.y2) / 2 - 0.5,
    box.sliceIndex,
  );
}

/**
 * Matching cost of two tracks in [0, 1), or null when they cannot be the same lesion. Lower is better.
 *
 * With geometry, the distance is the smallest patient-space distance between a box centre of one track and a
 * box centre of the other, not the distance of the track centres. On real CT a track can chain boxes of
 * neighbouring structures over many slices, which moves its centre away from the lesion.
 */
export function matchCost(
  a: PhaseTrack,
  b: PhaseTrack,
): { cost: number; by: 'position' | 'slice-overlap' } | null {
  if (hasGeometry(a.series) && hasGeometry(b.series)) {
    const centresB = b.boxes.map((box) => boxCentreMm(b, box));
    let distance = Infinity;
    for (const box of a.boxes) {
      const centre = boxCentreMm(a, box);
      for (const other of centresB) {
        distance = Math.min(
          distance,
          Math.hypot(centre[0] - other[0], centre[1] - other[1], centre[2] - other[2]),
        );
      }
    }
    const diameter = Math.max(trackDiameterMm(a) ?? 0, trackDiameterMm(b) ?? 0);
    const tolerance = Math.max(MIN_MATCH_DISTANCE_MM, MATCH_DISTANCE_DIAMETER_FRACTION * diameter);
    return distance < tolerance ? { cost: distance / tolerance, by: 'position' } : null;
  }

  const rangeA = sliceFractionRange(a);
  const rangeB = sliceFractionRange(b);
  const sliceOverlap = Math.min(rangeA[1], rangeB[1]) - Math.max(rangeA[0], rangeB[0]);
  if (sliceOverlap <= 0) return null;
  const iou = boxIou(normalisedUnion(a), normalisedUnion(b));
  if (iou < MIN_IN_PLANE_IOU) return null;
  return { cost: 1 - iou, by: 'slice-overlap' };
}

/** Returns the slice range of a track as fractions of its series' slice count, half-open. */
function sliceFractionRange(track: PhaseTrack): [number, number] {
  const slices = track.series.geometry.dimensions[2];
  const indices = track.boxes.map((b) => b.sliceIndex);
  return [Math.min(...indices) / slices, (Math.max(...indices) + 1) / slices];
}

/** Returns the union box as fractions of the slice width and height, so that different matrix sizes compare. */
function normalisedUnion(track: PhaseTrack): Box {
  const [columns, rows] = track.series.geometry.dimensions;
  const union = unionBox(track.boxes);
  return { x1: union.x1 / columns, y1: union.y1 / rows, x2: union.x2 / columns, y2: union.y2 / rows };
}

/**
 * Links tracks of different series into lesions. Series are visited in the given order. Each track joins the
 * existing lesion of lowest cost that has no track of its series yet, taking pairs greedily by increasing
 * cost, and unmatched tracks start new lesions.
 */
export function matchAcrossPhases(tracksBySeries: readonly PhaseTrack[][]): MatchedLesion[] {
  const lesions: MatchedLesion[] = [];
  for (const tracks of tracksBySeries) {
    const candidates: { lesion: number; track: number; cost: number; by: 'position' | 'slice-overlap' }[] =
      [];
    tracks.forEach((track, trackIndex) => {
      lesions.forEach((lesion, lesionIndex) => {
        let best: { cost: number; by: 'position' | 'slice-overlap' } | null = null;
        for (const member of lesion.tracks) {
          const result = matchCost(member, track);
          if (result && (!best || result.cost < best.cost)) best = result;
        }
        if (best) candidates.push({ lesion: lesionIndex, track: trackIndex, ...best });
      });
    });
    candidates.sort((p, q) => p.cost - q.cost);

    const usedLesions = new Set<number>();
    const usedTracks = new Set<number>();
    for (const candidate of candidates) {
      if (usedLesions.has(candidate.lesion) || usedTracks.has(candidate.track)) continue;
      usedLesions.add(candidate.lesion);
      usedTracks.add(candidate.track);
      const lesion = lesions[candidate.lesion];
      lesion.tracks.push(tracks[candidate.track]);
      // A lesion matched by position anywhere keeps that label; slice overlap is the weaker evidence.
      if (lesion.matchedBy !== 'position') lesion.matchedBy = candidate.by;
    }
    tracks.forEach((track, trackIndex) => {
      if (!usedTracks.has(trackIndex)) lesions.push({ tracks: [track], matchedBy: 'single-phase' });
    });
  }
  return lesions;
}
