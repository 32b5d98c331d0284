/**
 * Ground truth of a synthetic patient: per lesion and phase, the bounding box of the lesion on every slice it
 * appears on, measured on the same geometry the renderer paints (a pixel belongs to the lesion when the
 * lesion covers at least half of it).
 */
import type { LesionType } from '../lesions.ts';
import type { SynthLesion } from './lesion.ts';
import { depthToSlice, sliceDepthMm, type SynthPatient } from './patient.ts';
import { mmToPixel, pixelToMm, sampleLesionAt } from './render.ts';
import { SYNTH_PHASES, type SynthPhase } from './tissue.ts';

/** A box in pixel coordinates of a slice: columns [x0, x1) and rows [y0, y1). */
export interface PixelBox {
  slice: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface LesionTruth {
  index: number;
  type: LesionType;
  /** Centre in the image plane (mm from the image centre, x right, y down) and depth below the top slice (mm). */
  centreMm: [number, number, number];
  /** Centre in voxel coordinates [column, row, slice] in the non-contrast phase (fractional). */
  centreVoxel: [number, number, number];
  diameterMm: number;
  sizeBin: SizeBin;
  semiAxesMm: [number, number, number];
  /** First and last slice on which the lesion shows in the non-contrast phase (slice 0 is the most caudal). */
  slices: [number, number];
  features: Record<string, unknown>;
  boxes: Record<SynthPhase, PixelBox[]>;
}

export type SizeBin = '<1cm' | '1-3cm' | '3-5cm' | '>5cm';

export function sizeBinOf(diameterMm: number): SizeBin {
  if (diameterMm < 10) return '<1cm';
  if (diameterMm < 30) return '1-3cm';
  if (diameterMm < 50) return '3-5cm';
  return '>5cm';
}

/** Box of one lesion on one slice and phase, or null when the slice misses it. */
export function lesionBox(
  patient: SynthPatient,
  lesion: SynthLesion,
  phase: SynthPhase,
  slice: number,
): PixelBox | null {
  const { size, pixelSpacingMm } = patient.geometry;
  const zMm = sliceDepthMm(patient.geometry, slice);
  if (Math.abs(zMm - lesion.centreMm[2]) >= lesion.semiAxesMm[2] * 1.2) return null;
  const [shiftX, shiftY] = patient.phaseShiftMm[phase];
  const reachMm = lesion.diameterMm / 2 + lesion.marginWidthMm + 2 * pixelSpacingMm;
  const centreColumn = mmToPixel(lesion.centreMm[0] + shiftX, size, pixelSpacingMm);
  const centreRow = mmToPixel(lesion.centreMm[1] + shiftY, size, pixelSpacingMm);
  const reach = Math.ceil(reachMm / pixelSpacingMm);
  const columnStart = Math.max(0, Math.floor(centreColumn - reach));
  const columnEnd = Math.min(size - 1, Math.ceil(centreColumn + reach));
  const rowStart = Math.max(0, Math.floor(centreRow - reach));
  const rowEnd = Math.min(size - 1, Math.ceil(centreRow + reach));
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let row = rowStart; row <= rowEnd; row++) {
    const y = pixelToMm(row, size, pixelSpacingMm) - shiftY;
    for (let column = columnStart; column <= columnEnd; column++) {
      const x = pixelToMm(column, size, pixelSpacingMm) - shiftX;
      if (sampleLesionAt(lesion, x, y, zMm, pixelSpacingMm).coverage < 0.5) continue;
      if (column < x0) x0 = column;
      if (column + 1 > x1) x1 = column + 1;
      if (row < y0) y0 = row;
      if (row + 1 > y1) y1 = row + 1;
    }
  }
  if (x1 <= x0 || y1 <= y0) return null;
  return { slice, x0, y0, x1, y1 };
}

/**
 * In-plane size of the lesion's cross-section on a slice relative to its largest cross-section (1 at the
 * equator, 0 beyond the poles).
 */
export function crossSectionFraction(patient: SynthPatient, lesion: SynthLesion, slice: number): number {
  const w = (sliceDepthMm(patient.geometry, slice) - lesion.centreMm[2]) / lesion.semiAxesMm[2];
  return w * w >= 1 ? 0 : Math.sqrt(1 - w * w);
}

export function lesionTruth(patient: SynthPatient, lesion: SynthLesion): LesionTruth {
  const { size, pixelSpacingMm, slices } = patient.geometry;
  const boxes = {} as Record<SynthPhase, PixelBox[]>;
  for (const phase of SYNTH_PHASES) {
    boxes[phase] = [];
    for (let slice = 0; slice < slices; slice++) {
      const box = lesionBox(patient, lesion, phase, slice);
      if (box) boxes[phase].push(box);
    }
  }
  const ncSlices = boxes.NC.map((box) => box.slice);
  const f = lesion.features;
  const features: Record<string, unknown> = {};
  if (lesion.type === 'hcc') Object.assign(features, { capsule: f.capsule, necrosis: f.necrosisRho > 0 });
  if (lesion.type === 'met') Object.assign(features, { necrosis: f.necrosisRho > 0 });
  if (lesion.type === 'fnh') Object.assign(features, { centralScar: f.scarSpokesRad.length > 0 });
  if (lesion.type === 'hem')
    Object.assign(features, { flashFilling: f.flashFilling, centralCleft: f.cleftRho > 0 });
  if (lesion.type === 'cyst') Object.assign(features, { fluidHu: Math.round(f.fluidHu * 10) / 10 });
  return {
    index: lesion.index,
    type: lesion.type,
    centreMm: lesion.centreMm.map(round2) as [number, number, number],
    centreVoxel: [
      round2(mmToPixel(lesion.centreMm[0], size, pixelSpacingMm)),
      round2(mmToPixel(lesion.centreMm[1], size, pixelSpacingMm)),
      round2(depthToSlice(patient.geometry, lesion.centreMm[2])),
    ],
    diameterMm: round2(lesion.diameterMm),
    sizeBin: sizeBinOf(lesion.diameterMm),
    semiAxesMm: lesion.semiAxesMm.map(round2) as [number, number, number],
    slices: ncSlices.length > 0 ? [ncSlices[0], ncSlices[ncSlices.length - 1]] : [-1, -1],
    features,
    boxes,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
