/**
 * One synthetic patient: anatomy, enhancement profile, noise level, breathing offsets between phases, and
 * lesions of one type placed inside the liver. Everything derives from the patient's seed.
 */
import type { LesionType } from '../lesions.ts';
import { Rng, hashSeed } from '../rng.ts';
import { liverMarginScale, organScale, sampleAnatomy, type Anatomy } from './anatomy.ts';
import { sampleDiameterMm, sampleLesionShape, type SynthLesion } from './lesion.ts';
import { SYNTH_PHASES, type EnhancementProfile, type SynthPhase } from './tissue.ts';

export interface SynthGeometry {
  /** Columns and rows of every slice. */
  size: number;
  slices: number;
  /** In-plane pixel spacing, mm. */
  pixelSpacingMm: number;
  /** Distance between slice centres, which is also the slice thickness, mm. */
  sliceThicknessMm: number;
}

export interface SynthPatient {
  /** Synthetic identifier such as `SYN0001`; the phantom has no real patient behind it. */
  id: string;
  index: number;
  seed: number;
  lesionType: LesionType;
  geometry: SynthGeometry;
  anatomy: Anatomy;
  profile: EnhancementProfile;
  /** Standard deviation of the image noise, HU. */
  noiseStdHu: number;
  /** In-plane shift of the whole anatomy per phase (breathing between acquisitions), mm. */
  phaseShiftMm: Record<SynthPhase, [number, number]>;
  lesions: SynthLesion[];
}

/**
 * Depth below the top of the volume (mm) of the centre of slice `slice`. Slice 0 is the most caudal, so that
 * slice indices run along the DICOM slice normal (feet to head) as readers order them.
 */
export function sliceDepthMm(geometry: SynthGeometry, slice: number): number {
  return (geometry.slices - 1 - slice) * geometry.sliceThicknessMm;
}

/** Fractional slice index of a depth below the top of the volume (the inverse of {@link sliceDepthMm}). */
export function depthToSlice(geometry: SynthGeometry, depthMm: number): number {
  return geometry.slices - 1 - depthMm / geometry.sliceThicknessMm;
}

/** Field of view of the phantom's slices, mm; typical of an adult abdominal CT reconstruction. */
export const FIELD_OF_VIEW_MM = 360;

/** Craniocaudal extent the volume covers when the slice thickness is not given, mm. */
export const DEFAULT_EXTENT_MM = 160;

function lesionCountFor(rng: Rng, type: LesionType): number {
  switch (type) {
    case 'met':
      return rng.int(1, 4);
    case 'cyst':
      return rng.int(1, 3);
    case 'hem':
      return rng.bernoulli(0.3) ? 2 : 1;
    case 'hcc':
      return rng.bernoulli(0.2) ? 2 : 1;
    case 'fnh':
      return rng.bernoulli(0.15) ? 2 : 1;
    case 'icc':
      return 1;
  }
}

function placeLesion(
  rng: Rng,
  patient: Pick<SynthPatient, 'anatomy' | 'geometry'>,
  diameterMm: number,
): [number, number, number] {
  const { anatomy, geometry } = patient;
  const liver = anatomy.liver;
  const extent = liver.zBottomMm - liver.zTopMm;
  const radius = diameterMm / 2;
  const zWanted = liver.zTopMm + extent * rng.uniform(0.25, 0.6);
  const sliceIndex = Math.min(geometry.slices - 1, Math.max(0, Math.round(depthToSlice(geometry, zWanted))));
  // Keep the centre close to a slice centre, so that even a 5 mm lesion shows on at least one slice.
  const z =
    sliceDepthMm(geometry, sliceIndex) +
    rng.uniform(-0.3, 0.3) * Math.min(geometry.sliceThicknessMm / 2, radius);
  const scale = Math.max(organScale(liver, z), 0.5);
  const angle = rng.uniform(0, 2 * Math.PI);
  const a = liver.semiAxes[0] * scale * liverMarginScale(anatomy, angle);
  const b = liver.semiAxes[1] * scale * liverMarginScale(anatomy, angle);
  const room = 1 - (radius + 6) / Math.min(a, b);
  const fraction = room > 0 ? rng.uniform(0, room) : 0;
  return [
    liver.centre[0] + Math.cos(angle) * a * fraction,
    liver.centre[1] + Math.sin(angle) * b * fraction,
    z,
  ];
}

export interface SynthPatientOptions {
  index: number;
  datasetSeed: number;
  lesionType: LesionType;
  geometry: SynthGeometry;
}

export function samplePatient(options: SynthPatientOptions): SynthPatient {
  const seed = hashSeed(options.datasetSeed, options.index);
  const rng = new Rng(seed);
  const geometry = options.geometry;
  const extentMm = geometry.slices * geometry.sliceThicknessMm;
  const anatomy = sampleAnatomy(rng, extentMm);
  const arterialGain = rng.uniform(0.75, 1.2);
  const venousGain = rng.uniform(0.8, 1.15);
  const profile: EnhancementProfile = {
    gain: { NC: 1, AP: arterialGain, PVP: venousGain, DP: venousGain * rng.uniform(0.9, 1.1) },
    liverNcOffsetHu: rng.bernoulli(0.2) ? -rng.uniform(10, 30) : rng.normal(0, 4),
  };
  const phaseShiftMm = {} as Record<SynthPhase, [number, number]>;
  for (const phase of SYNTH_PHASES) {
    // Whole pixels, so that a phase is a translation of the anatomy and one anatomy pass serves every phase.
    const shift = phase === 'NC' ? [0, 0] : [rng.normal(0, 1.5), rng.normal(0, 2)];
    phaseShiftMm[phase] = [
      Math.round(shift[0] / geometry.pixelSpacingMm) * geometry.pixelSpacingMm,
      Math.round(shift[1] / geometry.pixelSpacingMm) * geometry.pixelSpacingMm,
    ];
  }
  const patient: SynthPatient = {
    id: `SYN${String(options.index + 1).padStart(4, '0')}`,
    index: options.index,
    seed,
    lesionType: options.lesionType,
    geometry,
    anatomy,
    profile,
    noiseStdHu: rng.uniform(7, 16),
    phaseShiftMm,
    lesions: [],
  };
  const count = lesionCountFor(rng, options.lesionType);
  for (let i = 0; i < count; i++) {
    // At least 2.5 pixels across, so that every lesion covers whole pixels on some slice and yields crops and boxes.
    const diameterMm = Math.max(sampleDiameterMm(rng, options.lesionType), 2.5 * geometry.pixelSpacingMm);
    let centre = placeLesion(rng, patient, diameterMm);
    for (let attempt = 0; attempt < 20; attempt++) {
      const clear = patient.lesions.every((other) => {
        const distance = Math.hypot(
          centre[0] - other.centreMm[0],
          centre[1] - other.centreMm[1],
          centre[2] - other.centreMm[2],
        );
        return distance > (diameterMm + other.diameterMm) / 2 + 4;
      });
      if (clear) break;
      centre = placeLesion(rng, patient, diameterMm);
    }
    const lesion = sampleLesionShape(rng, patient.lesions.length, options.lesionType, diameterMm, centre);
    const overlaps = patient.lesions.some((other) => {
      const distance = Math.hypot(
        centre[0] - other.centreMm[0],
        centre[1] - other.centreMm[1],
        centre[2] - other.centreMm[2],
      );
      return distance <= (lesion.diameterMm + other.diameterMm) / 2;
    });
    // A second lesion that cannot be placed apart from the first is dropped rather than merged into it.
    if (!overlaps) patient.lesions.push(lesion);
  }
  return patient;
}
