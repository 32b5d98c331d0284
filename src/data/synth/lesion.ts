/**
 * The six lesion types of the phantom: shape sampling and attenuation per phase.
 *
 * Each lesion is a lobulated ellipsoid. Inside it, `rho` is the normalised 3-D radius (0 at the centre, 1 at
 * the margin), so that rim, capsule, scar and fill-in patterns stay consistent across slices. The enhancement
 * behaviour of each type follows the radiology literature named in docs/data-and-training.md:
 * - HCC: arterial hyper-enhancement, portal-venous and delayed washout, enhancing capsule in PVP/DP (about
 *   80% of lesions), mosaic texture, necrosis in large lesions.
 * - ICC: irregular arterial rim enhancement with progressive central (fibrous) enhancement into the delayed
 *   phase, lobulated infiltrative margin.
 * - MET (hypovascular, the common colorectal kind): hypo-attenuating in every phase, thick enhancing rim,
 *   necrotic centre when large, often several lesions.
 * - FNH: strong homogeneous arterial enhancement becoming iso-attenuating to liver in PVP/DP; a central scar
 *   with radiating septa, hypo-attenuating early and enhancing in the delayed phase, in larger lesions.
 * - HEM: blood-pool density unenhanced, peripheral nodular discontinuous arterial enhancement near aortic
 *   density, and centripetal fill-in that stays iso-attenuating to the blood pool. Small ones may flash-fill,
 *   and large ones keep a non-enhancing central cleft.
 * - CYST: water density (0 to 15 HU), no enhancement, sharp margin.
 */
import type { LesionType } from '../lesions.ts';
import { Rng, hashSeed } from '../rng.ts';
import { fractalNoise3 } from './noise.ts';
import { tissueHu, type EnhancementProfile, type SynthPhase } from './tissue.ts';

export interface LobeHarmonic {
  order: number;
  amplitude: number;
  phaseRad: number;
}

export interface SynthLesion {
  /** Index of the lesion within its patient, from 0. */
  index: number;
  type: LesionType;
  /** Centre in mm from the image centre (x to the image right, y to the image bottom) and depth z below the top slice. */
  centreMm: [number, number, number];
  /** Semi-axes in millimetres: in-plane major, in-plane minor, craniocaudal. */
  semiAxesMm: [number, number, number];
  /** In-plane rotation of the major axis, radians. */
  rotationRad: number;
  /** Radial modulation of the margin (lobulation), as a function of the in-plane angle. */
  harmonics: LobeHarmonic[];
  /** Width of the margin transition in millimetres: small for sharp (cyst), large for infiltrative (ICC). */
  marginWidthMm: number;
  /** Largest in-plane diameter in millimetres, including lobulation. */
  diameterMm: number;
  textureSeed: number;
  features: LesionFeatures;
}

export interface LesionFeatures {
  capsule: boolean;
  /** Normalised radius inside which the lesion is necrotic (0: none). */
  necrosisRho: number;
  /** FNH: angles of the scar's radiating septa; empty when the lesion shows no scar. */
  scarSpokesRad: number[];
  /** HEM: angles of the peripheral arterial nodules. */
  noduleAnglesRad: number[];
  /** HEM: homogeneous arterial enhancement of a small lesion. */
  flashFilling: boolean;
  /** HEM: normalised radius of a central cleft that never fills (0: none). */
  cleftRho: number;
  /** Per-lesion shifts of the attenuation, in HU, so two lesions of one type never look identical. */
  jitterHu: number[];
  /** CYST: fluid attenuation. */
  fluidHu: number;
}

/** Diameter ranges in mm of the size bins of the LiLNet study's size analysis: < 1 cm, 1 to 3 cm, 3 to 5 cm, > 5 cm. */
const SIZE_BINS_MM: [number, number][] = [
  [5, 10],
  [10, 30],
  [30, 50],
  [50, 85],
];

/** Relative frequency of each size bin per type (rough clinical tendencies: HCC and ICC large, cysts small). */
const SIZE_BIN_WEIGHTS: Record<LesionType, number[]> = {
  hcc: [1, 3, 3, 3],
  icc: [0.5, 2, 3, 3],
  met: [2, 4, 2, 1],
  fnh: [1, 3, 3, 1],
  hem: [2, 3, 2, 2],
  cyst: [3, 4, 2, 1],
};

const LOBULATION: Record<LesionType, number> = {
  hcc: 0.05,
  icc: 0.14,
  met: 0.09,
  fnh: 0.08,
  hem: 0.06,
  cyst: 0.025,
};
const MARGIN_WIDTH_MM: Record<LesionType, number> = {
  hcc: 1.2,
  icc: 3,
  met: 2.2,
  fnh: 1.2,
  hem: 0.9,
  cyst: 0.4,
};

function pickWeighted(rng: Rng, weights: number[]): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let target = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i];
    if (target < 0) return i;
  }
  return weights.length - 1;
}

/** Samples a lesion diameter in mm; `sizeBin` forces one of the four size bins. */
export function sampleDiameterMm(rng: Rng, type: LesionType, sizeBin?: number): number {
  const bin = sizeBin ?? pickWeighted(rng, SIZE_BIN_WEIGHTS[type]);
  const [low, high] = SIZE_BINS_MM[bin];
  return rng.uniform(low, high);
}

/** Samples the shape and features of one lesion of a given diameter; the caller places it. */
export function sampleLesionShape(
  rng: Rng,
  index: number,
  type: LesionType,
  diameterMm: number,
  centreMm: [number, number, number],
): SynthLesion {
  const radius = diameterMm / 2;
  const elongation = type === 'cyst' ? rng.uniform(0.85, 1) : rng.uniform(0.7, 1);
  const harmonics: LobeHarmonic[] = [];
  const lobulation = LOBULATION[type];
  for (let order = 2; order <= 5; order++) {
    harmonics.push({
      order,
      amplitude: (lobulation * rng.uniform(0.2, 1)) / (order - 1),
      phaseRad: rng.uniform(0, 2 * Math.PI),
    });
  }
  const lobeMax = harmonics.reduce((sum, h) => sum + h.amplitude, 0);
  const major = radius / (1 + lobeMax);
  const features: LesionFeatures = {
    capsule: type === 'hcc' && rng.bernoulli(0.8),
    necrosisRho: 0,
    scarSpokesRad: [],
    noduleAnglesRad: [],
    flashFilling: false,
    cleftRho: 0,
    jitterHu: Array.from({ length: 6 }, () => rng.normal(0, 1)),
    fluidHu: rng.uniform(0, 15),
  };
  if ((type === 'hcc' || type === 'met') && diameterMm > 40 && rng.bernoulli(0.6)) {
    features.necrosisRho = rng.uniform(0.25, 0.45);
  }
  if (type === 'fnh' && diameterMm > 25 && rng.bernoulli(0.6)) {
    const spokes = rng.int(3, 6);
    const start = rng.uniform(0, 2 * Math.PI);
    for (let i = 0; i < spokes; i++)
      features.scarSpokesRad.push(start + (2 * Math.PI * i) / spokes + rng.normal(0, 0.2));
  }
  if (type === 'hem') {
    features.flashFilling = diameterMm < 15 && rng.bernoulli(0.3);
    const nodules = rng.int(3, 7);
    for (let i = 0; i < nodules; i++) features.noduleAnglesRad.push(rng.uniform(0, 2 * Math.PI));
    if (diameterMm > 45) features.cleftRho = rng.uniform(0.15, 0.3);
  }
  return {
    index,
    type,
    centreMm,
    semiAxesMm: [major, major * elongation, major * rng.uniform(0.8, 1.1)],
    rotationRad: rng.uniform(0, Math.PI),
    harmonics,
    marginWidthMm: MARGIN_WIDTH_MM[type],
    diameterMm: 2 * major * (1 + lobeMax),
    textureSeed: hashSeed(rng.nextUint32()),
    features,
  };
}

/** Radial scale of the margin at in-plane angle `angle` (1 + lobulation). */
export function marginScale(lesion: SynthLesion, angle: number): number {
  let scale = 1;
  for (const h of lesion.harmonics) scale += h.amplitude * Math.cos(h.order * angle + h.phaseRad);
  return scale;
}

/** Position of a point relative to a lesion. */
export interface LesionPoint {
  /** Normalised 3-D radius: < 1 inside. */
  rho: number;
  /** In-plane angle in the lesion's frame, radians. */
  angle: number;
  /** Point coordinates in mm, for texture lookup. */
  xMm: number;
  yMm: number;
  zMm: number;
}

function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

function angularDistance(a: number, b: number): number {
  const d = Math.abs(((a - b) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
  return Math.min(d, 2 * Math.PI - d);
}

/**
 * Attenuation in HU of a lesion at a point inside it, for one phase and patient. `liverHu` is the patient's
 * liver value in that phase, which several types are defined against (washout, iso-attenuation).
 */
export function lesionHu(
  lesion: SynthLesion,
  phase: SynthPhase,
  point: LesionPoint,
  profile: EnhancementProfile,
): number {
  const { rho } = point;
  const f = lesion.features;
  const j = f.jitterHu;
  const liver = tissueHu('liver', phase, profile);
  const texture = fractalNoise3(lesion.textureSeed, point.xMm / 6, point.yMm / 6, point.zMm / 6);

  switch (lesion.type) {
    case 'cyst':
      return f.fluidHu;

    case 'hcc': {
      if (rho < f.necrosisRho) return 25 + 5 * j[0] + 4 * texture;
      const body: Record<SynthPhase, number> = {
        NC: liver - 14 + 3 * j[1],
        AP: liver + 38 + 8 * j[2],
        PVP: liver - 18 + 4 * j[3],
        DP: liver - 16 + 4 * j[4],
      };
      // Mosaic architecture: nodular areas of different enhancement, strongest in the arterial phase.
      const mosaic = (phase === 'AP' ? 16 : phase === 'NC' ? 5 : 9) * texture;
      let value = body[phase] + mosaic;
      if (f.capsule && rho > 0.9) {
        const capsule: Record<SynthPhase, number> = {
          NC: liver - 8,
          AP: liver - 4,
          PVP: liver + 22,
          DP: liver + 26,
        };
        value = capsule[phase] + 3 * j[5];
      }
      return value;
    }

    case 'icc': {
      const rim = smoothstep(0.6, 0.8, rho);
      const centre: Record<SynthPhase, number> = { NC: 40, AP: 52, PVP: 78, DP: liver + 8 };
      const periphery: Record<SynthPhase, number> = { NC: 44, AP: liver + 22, PVP: liver + 2, DP: liver + 2 };
      const value = centre[phase] + (periphery[phase] - centre[phase]) * rim;
      return value + 4 * j[0] + 7 * texture;
    }

    case 'met': {
      if (rho < f.necrosisRho) return 18 + 5 * j[0] + 3 * texture;
      const rim = smoothstep(0.55, 0.75, rho);
      const centre: Record<SynthPhase, number> = { NC: 36, AP: 46, PVP: 58, DP: 62 };
      const periphery: Record<SynthPhase, number> = {
        NC: 40,
        AP: liver + 12,
        PVP: liver - 12,
        DP: liver - 14,
      };
      const value = centre[phase] + (periphery[phase] - centre[phase]) * rim;
      return value + 4 * j[1] + 6 * texture;
    }

    case 'fnh': {
      const body: Record<SynthPhase, number> = {
        NC: liver - 6 + 2 * j[0],
        AP: liver + 55 + 8 * j[1],
        PVP: liver + 4 + 2 * j[2],
        DP: liver + 2 + 2 * j[3],
      };
      let value = body[phase] + 3 * texture;
      if (f.scarSpokesRad.length > 0) {
        const scar: Record<SynthPhase, number> = {
          NC: liver - 20,
          AP: liver - 10,
          PVP: liver - 16,
          DP: liver + 14,
        };
        let scarWeight = 1 - smoothstep(0.1, 0.18, rho);
        for (const spoke of f.scarSpokesRad) {
          const across = angularDistance(point.angle, spoke) * rho;
          scarWeight = Math.max(
            scarWeight,
            (1 - smoothstep(0.025, 0.05, across)) * (1 - smoothstep(0.45, 0.7, rho)),
          );
        }
        value = value + (scar[phase] - value) * scarWeight;
      }
      return value;
    }

    case 'hem': {
      const bloodPool = tissueHu('aorta', phase, profile);
      const portal = tissueHu('portalVein', phase, profile);
      const unfilled = 40 + 3 * j[0] + 3 * texture;
      if (rho < f.cleftRho) return 30 + 3 * j[1] + 3 * texture;
      if (f.flashFilling) {
        const flash: Record<SynthPhase, number> = {
          NC: unfilled,
          AP: 0.8 * bloodPool,
          PVP: 0.95 * portal,
          DP: 0.95 * tissueHu('aorta', 'DP', profile),
        };
        return flash[phase] + 5 * texture;
      }
      if (phase === 'NC') return unfilled;
      if (phase === 'AP') {
        let nodule = 0;
        for (const angle of f.noduleAnglesRad) {
          const along = angularDistance(point.angle, angle) * rho;
          nodule = Math.max(nodule, (1 - smoothstep(0.1, 0.17, along)) * smoothstep(0.7, 0.82, rho));
        }
        return unfilled + (0.85 * bloodPool - unfilled) * nodule;
      }
      // Centripetal fill-in: the enhanced front moves inward with time, lumpy along the angle.
      const front = (phase === 'PVP' ? 0.5 : 0.08) + 0.08 * texture;
      const filled = phase === 'PVP' ? 0.95 * portal : 0.98 * bloodPool + 8;
      const weight = smoothstep(front - 0.05, front + 0.05, rho);
      return unfilled + (filled - unfilled) * weight;
    }
  }
}
