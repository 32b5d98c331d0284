/**
 * Mean attenuation of the phantom's normal tissues in Hounsfield units, per contrast phase: non-contrast (NC),
 * late arterial (AP, about 35 s after injection), portal venous (PVP, about 70 s) and delayed (DP, about 3 min).
 *
 * Unenhanced values follow published HU tables (liver 45 to 65 HU, fat -50 to -100 HU, blood 45 to 65 HU,
 * spleen 35 to 55 HU, bone 700 HU and above) and a 64-liver series with a mean of 58 HU. Enhanced values add
 * the increments measured in bolus-tracked multiphase liver MDCT: aorta about +300 HU in the arterial phase
 * while the liver gains only 15 to 25 HU, liver peaking about +60 HU in the portal venous phase, portal veins
 * +75 to +105 HU already in the arterial phase. docs/data-and-training.md names the sources.
 */
import type { Phase } from '../../imaging/volume.ts';

/** The four phases the phantom renders, in acquisition order. */
export type SynthPhase = Exclude<Phase, 'unknown'>;

export const SYNTH_PHASES: readonly SynthPhase[] = ['NC', 'AP', 'PVP', 'DP'];

export type PhaseValues = Record<SynthPhase, number>;

export type TissueName =
  | 'air'
  | 'fat'
  | 'muscle'
  | 'bowel'
  | 'liver'
  | 'spleen'
  | 'kidneyCortex'
  | 'kidneyMedulla'
  | 'aorta'
  | 'ivc'
  | 'portalVein'
  | 'hepaticVein'
  | 'cancellousBone'
  | 'corticalBone'
  | 'spinalCanal'
  | 'gastricFluid';

export const TISSUE_HU: Record<TissueName, PhaseValues> = {
  air: { NC: -1000, AP: -1000, PVP: -1000, DP: -1000 },
  fat: { NC: -100, AP: -98, PVP: -96, DP: -97 },
  muscle: { NC: 50, AP: 58, PVP: 65, DP: 62 },
  bowel: { NC: 35, AP: 70, PVP: 85, DP: 75 },
  liver: { NC: 58, AP: 78, PVP: 118, DP: 98 },
  spleen: { NC: 46, AP: 140, PVP: 122, DP: 100 },
  kidneyCortex: { NC: 35, AP: 190, PVP: 175, DP: 145 },
  kidneyMedulla: { NC: 32, AP: 80, PVP: 170, DP: 160 },
  aorta: { NC: 45, AP: 330, PVP: 170, DP: 130 },
  ivc: { NC: 45, AP: 95, PVP: 150, DP: 125 },
  portalVein: { NC: 45, AP: 140, PVP: 185, DP: 135 },
  hepaticVein: { NC: 45, AP: 55, PVP: 160, DP: 128 },
  cancellousBone: { NC: 230, AP: 232, PVP: 235, DP: 233 },
  corticalBone: { NC: 750, AP: 750, PVP: 750, DP: 750 },
  spinalCanal: { NC: 20, AP: 22, PVP: 25, DP: 24 },
  gastricFluid: { NC: 10, AP: 12, PVP: 15, DP: 14 },
};

/**
 * One patient's enhancement: each phase's contrast increment over NC is scaled by a per-patient factor
 * (injection rate, cardiac output, timing), so that relations such as "HCC brighter than liver in AP" hold
 * while absolute values vary between patients.
 */
export interface EnhancementProfile {
  /** Multiplier of the contrast increment, per phase (NC is always 1). */
  gain: PhaseValues;
  /** Offset of the unenhanced liver from the table value (steatosis lowers it). */
  liverNcOffsetHu: number;
}

/** Attenuation of a tissue in one phase for one patient. */
export function tissueHu(tissue: TissueName, phase: SynthPhase, profile: EnhancementProfile): number {
  const values = TISSUE_HU[tissue];
  const base = values.NC + (tissue === 'liver' ? profile.liverNcOffsetHu : 0);
  return base + (values[phase] - values.NC) * profile.gain[phase];
}
