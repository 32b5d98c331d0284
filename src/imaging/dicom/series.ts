/**
 * Assembles DICOM images into series volumes: grouped by SeriesInstanceUID, slices sorted by their position
 * along the slice normal (ImageOrientationPatient row x column, dotted with ImagePositionPatient), never by
 * InstanceNumber or file name unless the files carry no position at all.
 *
 * Findings that do not stop the volume (gaps, duplicates, mixed orientations, localizers, gantry tilt) become
 * series warnings. Slices that cannot join the volume are left out and named in those warnings.
 */
import { basename, dirname } from 'node:path';
import { angleDeg, cross, dot, median, norm, normalize, subtract, type Vector3 } from '../geometry.ts';
import type { Series, VolumeGeometry } from '../volume.ts';
import type { DicomImage } from './read-file.ts';

/** A series with the DICOM facts the phase rules use. */
export interface AssembledDicomSeries {
  series: Series;
  contrastBolusAgent: string | undefined;
  /** Earliest AcquisitionTime of the series, in seconds since midnight. */
  acquisitionTimeS: number | undefined;
  /** The folder that contains the first slice file. */
  folder: string;
}

interface SliceCandidate {
  image: DicomImage;
  frameIndex: number;
  positionMm: Vector3 | undefined;
  along: number;
}

/** Positions closer than this along the normal are duplicates, in mm. */
const DUPLICATE_TOLERANCE_MM = 0.01;
/** A step larger than this multiple of the median step is reported as a gap. */
const GAP_FACTOR = 1.5;
/** Orientations differing by more than this many degrees are different orientations. */
const ORIENTATION_TOLERANCE_DEG = 1;
/** Slice stacks sheared by more than this many degrees from the normal are reported as gantry tilt. */
const TILT_TOLERANCE_DEG = 0.5;

function mostCommon<T>(items: T[], key: (item: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

function isLocalizer(image: DicomImage): boolean {
  return image.attributes.imageType.some((part) => part.toUpperCase() === 'LOCALIZER');
}

/** Removes localizers and images whose orientation or size differ from the majority, with warnings. */
function selectConsistentImages(images: DicomImage[], warnings: string[]): DicomImage[] {
  const localizers = images.filter(isLocalizer);
  let kept = images.filter((image) => !isLocalizer(image));
  if (localizers.length > 0 && kept.length > 0) {
    warnings.push(
      `${localizers.length} localizer image(s) left out: ${localizers.map((i) => basename(i.file)).join(', ')}`,
    );
  } else {
    kept = images;
  }

  const sizeKey = (image: DicomImage): string => `${image.attributes.columns}x${image.attributes.rows}`;
  const size = mostCommon(kept, sizeKey);
  const wrongSize = kept.filter((image) => sizeKey(image) !== size);
  if (wrongSize.length > 0) {
    warnings.push(
      `${wrongSize.length} image(s) of another size than ${size} left out: ${wrongSize.map((i) => basename(i.file)).join(', ')}`,
    );
    kept = kept.filter((image) => sizeKey(image) === size);
  }

  const groups = groupByOrientation(kept.filter((image) => image.orientation !== undefined));
  if (groups.length > 1) {
    // The orientation most images share defines the volume; ties go to the orientation seen first.
    const largest = groups.reduce((best, group) => (group.length > best.length ? group : best));
    const mixed = groups.filter((group) => group !== largest).flat();
    warnings.push(
      `mixed orientations: ${mixed.length} image(s) with another ImageOrientationPatient left out: ${mixed.map((i) => basename(i.file)).join(', ')}`,
    );
    kept = kept.filter((image) => !mixed.includes(image));
  }
  return kept;
}

function sameOrientation(a: DicomImage, b: DicomImage): boolean {
  const rowAngle = angleDeg(a.orientation!.slice(0, 3) as Vector3, b.orientation!.slice(0, 3) as Vector3);
  const columnAngle = angleDeg(a.orientation!.slice(3, 6) as Vector3, b.orientation!.slice(3, 6) as Vector3);
  return rowAngle <= ORIENTATION_TOLERANCE_DEG && columnAngle <= ORIENTATION_TOLERANCE_DEG;
}

/** Groups images whose orientations agree within the tolerance with the first image of a group, in input order. */
function groupByOrientation(images: DicomImage[]): DicomImage[][] {
  const groups: DicomImage[][] = [];
  for (const image of images) {
    const group = groups.find((candidate) => sameOrientation(candidate[0], image));
    if (group) group.push(image);
    else groups.push([image]);
  }
  return groups;
}

function sliceCandidates(images: DicomImage[], normal: Vector3 | undefined): SliceCandidate[] {
  const candidates: SliceCandidate[] = [];
  for (const image of images) {
    image.frames.forEach((frame, frameIndex) => {
      const along = frame.positionMm && normal ? dot(frame.positionMm, normal) : Number.NaN;
      candidates.push({ image, frameIndex, positionMm: frame.positionMm, along });
    });
  }
  return candidates;
}

/** Sorts slices along the normal, or by InstanceNumber then frame when positions are missing. */
function orderSlices(candidates: SliceCandidate[], warnings: string[]): SliceCandidate[] {
  if (candidates.every((candidate) => Number.isFinite(candidate.along))) {
    return [...candidates].sort((a, b) => a.along - b.along);
  }
  if (candidates.length > 1) {
    warnings.push(
      'slices carry no ImagePositionPatient/ImageOrientationPatient: ordered by InstanceNumber, then frame',
    );
  }
  return [...candidates].sort(
    (a, b) =>
      (a.image.attributes.instanceNumber ?? 0) - (b.image.attributes.instanceNumber ?? 0) ||
      a.frameIndex - b.frameIndex,
  );
}

function dropDuplicates(ordered: SliceCandidate[], warnings: string[]): SliceCandidate[] {
  const kept: SliceCandidate[] = [];
  const dropped: string[] = [];
  for (const candidate of ordered) {
    const previous = kept[kept.length - 1];
    if (
      previous &&
      Number.isFinite(candidate.along) &&
      Math.abs(candidate.along - previous.along) < DUPLICATE_TOLERANCE_MM
    ) {
      dropped.push(`${basename(candidate.image.file)} (same position as ${basename(previous.image.file)})`);
      continue;
    }
    kept.push(candidate);
  }
  if (dropped.length > 0) {
    warnings.push(`duplicate slice positions: ${dropped.length} slice(s) left out: ${dropped.join(', ')}`);
  }
  return kept;
}

interface SliceStep {
  spacingMm: number;
  direction: Vector3;
}

/** Derives slice spacing and direction; reports gaps, uneven spacing and gantry tilt. */
function sliceStep(
  ordered: SliceCandidate[],
  normal: Vector3 | undefined,
  first: DicomImage,
  warnings: string[],
): SliceStep | undefined {
  const positioned = ordered.filter((candidate) => candidate.positionMm !== undefined);
  if (positioned.length < 2 || positioned.length !== ordered.length || !normal) {
    const thickness = first.attributes.spacingBetweenSlices ?? first.attributes.sliceThickness;
    return thickness && thickness > 0 && normal ? { spacingMm: thickness, direction: normal } : undefined;
  }
  const steps = positioned.slice(1).map((candidate, index) => candidate.along - positioned[index].along);
  const stepMm = median(steps);
  const gaps: string[] = [];
  steps.forEach((step, index) => {
    if (step > GAP_FACTOR * stepMm) {
      gaps.push(
        `${step.toFixed(2)} mm between ${basename(positioned[index].image.file)} and ${basename(positioned[index + 1].image.file)}`,
      );
    }
  });
  if (gaps.length > 0) {
    warnings.push(
      `slice gaps (median spacing ${stepMm.toFixed(2)} mm): ${gaps.join('; ')}; the volume places slices at even spacing`,
    );
  } else if (Math.max(...steps) - Math.min(...steps) > 0.01 * stepMm + 1e-3) {
    warnings.push(
      `uneven slice spacing from ${Math.min(...steps).toFixed(3)} to ${Math.max(...steps).toFixed(3)} mm; the volume uses the median ${stepMm.toFixed(3)} mm`,
    );
  }

  const displacement = subtract(positioned[positioned.length - 1].positionMm!, positioned[0].positionMm!);
  const tiltDeg = angleDeg(displacement, normal);
  const declaredTilt = first.attributes.gantryDetectorTilt ?? 0;
  if (tiltDeg > TILT_TOLERANCE_DEG) {
    warnings.push(
      `gantry tilt: slices are sheared by ${tiltDeg.toFixed(1)} degrees from the slice normal; geometry.direction.slice follows the slice positions, so the voxel grid is not orthogonal`,
    );
    const along = dot(displacement, normal);
    return { spacingMm: (stepMm * norm(displacement)) / along, direction: normalize(displacement) };
  }
  if (Math.abs(declaredTilt) > TILT_TOLERANCE_DEG) {
    warnings.push(`GantryDetectorTilt is ${declaredTilt} degrees, but the slice positions show no shear`);
  }
  return { spacingMm: stepMm, direction: normal };
}

function buildGeometry(
  first: DicomImage,
  ordered: SliceCandidate[],
  step: SliceStep | undefined,
): VolumeGeometry {
  const { columns, rows } = first.attributes;
  const orientation = first.orientation;
  const row = orientation ? normalize(orientation.slice(0, 3) as Vector3) : ([1, 0, 0] as Vector3);
  const column = orientation ? normalize(orientation.slice(3, 6) as Vector3) : ([0, 1, 0] as Vector3);
  const slice = step?.direction ?? cross(row, column);
  const pixelSpacing = first.pixelSpacingMm;
  return {
    dimensions: [columns, rows, ordered.length],
    spacingMm: [pixelSpacing?.[0] ?? 1, pixelSpacing?.[1] ?? 1, step?.spacingMm ?? 1],
    spacingKnown: pixelSpacing !== undefined && (ordered.length === 1 || step !== undefined),
    originMm: ordered[0].positionMm ?? null,
    direction: { row, column, slice },
  };
}

function assembleOne(seriesId: string, images: DicomImage[]): AssembledDicomSeries {
  const warnings: string[] = [];
  const kept = selectConsistentImages(images, warnings);
  const first = kept[0];
  const orientation = first.orientation;
  const normal = orientation
    ? normalize(cross(orientation.slice(0, 3) as Vector3, orientation.slice(3, 6) as Vector3))
    : undefined;

  const ordered = dropDuplicates(orderSlices(sliceCandidates(kept, normal), warnings), warnings);
  const step = sliceStep(ordered, normal, first, warnings);
  const geometry = buildGeometry(first, ordered, step);

  const sliceSize = first.attributes.columns * first.attributes.rows;
  const voxels = new Float32Array(sliceSize * ordered.length);
  ordered.forEach((candidate, z) => {
    const target = voxels.subarray(z * sliceSize, (z + 1) * sliceSize);
    candidate.image.frames[candidate.frameIndex].writeValues(target);
  });

  const sliceFiles = [...new Set(ordered.map((candidate) => candidate.image.file))];
  const syntaxes = new Set(kept.map((image) => image.transferSyntaxUid));
  if (syntaxes.size > 1)
    warnings.push(`slices use ${syntaxes.size} transfer syntaxes: ${[...syntaxes].join(', ')}`);
  for (const image of kept)
    for (const warning of image.warnings) warnings.push(`${basename(image.file)}: ${warning}`);

  const { windowCentre, windowWidth } = first.attributes;
  const times = kept
    .map((image) => image.attributes.acquisitionTimeS)
    .filter((time): time is number => time !== undefined);
  const series: Series = {
    id: seriesId,
    phase: 'unknown',
    phaseSource: 'unknown',
    unit: first.unit,
    voxels,
    geometry,
    sliceFiles,
    transferSyntaxUid: first.transferSyntaxUid,
    modality: first.attributes.modality,
    description: first.attributes.seriesDescription,
    fileWindow:
      windowCentre !== undefined && windowWidth !== undefined && windowWidth > 0
        ? { centre: windowCentre, width: windowWidth }
        : undefined,
    warnings: dedupeWarnings(warnings),
  };
  return {
    series,
    contrastBolusAgent: kept.find((image) => image.attributes.contrastBolusAgent)?.attributes
      .contrastBolusAgent,
    acquisitionTimeS: times.length > 0 ? Math.min(...times) : undefined,
    folder: dirname(first.file),
  };
}

/** Collapses identical per-file warnings (e.g. the same padding note on 200 slices) into one line with a count. */
function dedupeWarnings(warnings: string[]): string[] {
  const counts = new Map<string, { first: string; count: number }>();
  for (const warning of warnings) {
    const key = warning.replace(/^[^:]+: /, '');
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { first: warning, count: 1 });
  }
  return [...counts.entries()].map(([key, entry]) =>
    entry.count > 1 ? `${entry.count} files: ${key}` : entry.first,
  );
}

/** Groups images by SeriesInstanceUID and builds one series volume per group, in order of first appearance. */
export function assembleDicomSeries(images: DicomImage[]): AssembledDicomSeries[] {
  const groups = new Map<string, DicomImage[]>();
  for (const image of images) {
    const key = image.attributes.seriesInstanceUid ?? `no-series-uid:${dirname(image.file)}`;
    const group = groups.get(key);
    if (group) group.push(image);
    else groups.set(key, [image]);
  }
  return [...groups.entries()].map(([id, group]) => assembleOne(id, group));
}
