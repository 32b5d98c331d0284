/**
 * The phantom's normal anatomy: a parametric abdomen cross-section that changes along z (craniocaudal). It has
 * a body wall with subcutaneous and visceral fat, a liver (right and left lobe), spleen, stomach, kidneys and
 * bowel, a spine with paraspinal muscles, ribs, aorta, IVC, and portal and hepatic veins inside the liver.
 *
 * Coordinates are millimetres in the image plane with the origin at the image centre, x towards the image
 * right (the patient's left, radiological convention) and y towards the image bottom (posterior); z is the
 * depth below the centre of the most cranial slice, growing towards the feet.
 */
import { Rng } from '../rng.ts';
import type { LobeHarmonic } from './lesion.ts';

export interface Ellipse {
  centre: [number, number];
  semiAxes: [number, number];
}

/** An organ present between two z positions, whose cross-section scales with `scaleAt`. */
export interface Organ extends Ellipse {
  zTopMm: number;
  zBottomMm: number;
}

/** A straight vessel segment with a circular cross-section. */
export interface Vessel {
  kind: 'portalVein' | 'hepaticVein';
  startMm: [number, number, number];
  endMm: [number, number, number];
  radiusMm: number;
}

export interface Anatomy {
  body: Ellipse;
  subcutaneousFatMm: number;
  muscleWallMm: number;
  liver: Organ & { harmonics: LobeHarmonic[] };
  leftLobe: Organ;
  spleen: Organ;
  stomach: Organ & { airFraction: number };
  kidneys: Organ[];
  bowel: (Organ & { air: boolean })[];
  spine: { centre: [number, number]; radiusMm: number };
  aorta: { centre: [number, number]; radiusMm: number };
  ivc: Ellipse;
  ribAngles: number[];
  vessels: Vessel[];
}

/** Cross-section scale of an organ at z: 0 outside its extent, rising to 1 and tapering. */
export function organScale(organ: Organ, zMm: number, peakAt = 0.4): number {
  const t = (zMm - organ.zTopMm) / (organ.zBottomMm - organ.zTopMm);
  if (t <= 0 || t >= 1) return 0;
  if (t < peakAt) return 0.45 + 0.55 * Math.sin((Math.PI / 2) * (t / peakAt));
  return Math.cos((Math.PI / 2) * ((t - peakAt) / (1 - peakAt))) ** 0.8;
}

/** Samples a patient's anatomy for a volume `extentMm` long along z. */
export function sampleAnatomy(rng: Rng, extentMm: number): Anatomy {
  const bodyA = rng.uniform(140, 175);
  const bodyB = rng.uniform(105, 130);
  const body: Ellipse = { centre: [rng.normal(0, 4), rng.uniform(5, 15)], semiAxes: [bodyA, bodyB] };
  const spineY = body.centre[1] + bodyB - rng.uniform(45, 55);
  const liverTop = extentMm * rng.uniform(-0.05, 0.05);
  const liverBottom = extentMm * rng.uniform(0.85, 1.0);
  const liver = {
    centre: [-bodyA * rng.uniform(0.32, 0.4), body.centre[1] - rng.uniform(0, 12)] as [number, number],
    semiAxes: [bodyA * rng.uniform(0.5, 0.58), bodyB * rng.uniform(0.68, 0.78)] as [number, number],
    zTopMm: liverTop,
    zBottomMm: liverBottom,
    harmonics: [2, 3, 4].map((order) => ({
      order,
      amplitude: rng.uniform(0.02, 0.06),
      phaseRad: rng.uniform(0, 2 * Math.PI),
    })),
  };
  const leftLobe: Organ = {
    centre: [
      liver.centre[0] + liver.semiAxes[0] * rng.uniform(0.75, 0.95),
      liver.centre[1] - liver.semiAxes[1] * 0.45,
    ],
    semiAxes: [bodyA * rng.uniform(0.25, 0.35), bodyB * rng.uniform(0.22, 0.3)],
    zTopMm: liverTop,
    zBottomMm: liverTop + (liverBottom - liverTop) * rng.uniform(0.45, 0.65),
  };
  const spleen: Organ = {
    centre: [bodyA * rng.uniform(0.5, 0.62), spineY - rng.uniform(20, 35)],
    semiAxes: [rng.uniform(30, 42), rng.uniform(45, 60)],
    zTopMm: extentMm * rng.uniform(0, 0.1),
    zBottomMm: extentMm * rng.uniform(0.5, 0.65),
  };
  const stomach = {
    centre: [bodyA * rng.uniform(0.2, 0.35), body.centre[1] - bodyB * rng.uniform(0.3, 0.45)] as [
      number,
      number,
    ],
    semiAxes: [rng.uniform(30, 45), rng.uniform(22, 32)] as [number, number],
    zTopMm: extentMm * rng.uniform(-0.05, 0.05),
    zBottomMm: extentMm * rng.uniform(0.35, 0.5),
    airFraction: rng.uniform(0.1, 0.35),
  };
  const kidneys: Organ[] = [-1, 1].map((side) => ({
    centre: [side * rng.uniform(55, 70), spineY - rng.uniform(5, 15)] as [number, number],
    semiAxes: [rng.uniform(22, 28), rng.uniform(30, 38)] as [number, number],
    zTopMm: extentMm * rng.uniform(0.4, 0.55) + (side < 0 ? 10 : 0),
    zBottomMm: extentMm * 1.4,
  }));
  const bowel: (Organ & { air: boolean })[] = [];
  for (let i = 0; i < rng.int(6, 12); i++) {
    const radius = rng.uniform(8, 18);
    bowel.push({
      centre: [rng.uniform(-0.2, 0.7) * bodyA, body.centre[1] + rng.uniform(-0.65, 0.2) * bodyB],
      semiAxes: [radius, radius * rng.uniform(0.6, 1)],
      zTopMm: extentMm * rng.uniform(0.3, 0.8),
      zBottomMm: extentMm * rng.uniform(1.0, 1.5),
      air: rng.bernoulli(0.3),
    });
  }
  const vessels: Vessel[] = [];
  const liverMid = (liverTop + liverBottom) / 2;
  const hilum: [number, number, number] = [
    liver.centre[0] + liver.semiAxes[0] * 0.45,
    liver.centre[1] + liver.semiAxes[1] * 0.2,
    liverMid,
  ];
  for (let i = 0; i < rng.int(5, 8); i++) {
    const angle = rng.uniform(0, 2 * Math.PI);
    const reach = rng.uniform(0.4, 0.8);
    vessels.push({
      kind: 'portalVein',
      startMm: hilum,
      endMm: [
        liver.centre[0] + Math.cos(angle) * liver.semiAxes[0] * reach,
        liver.centre[1] + Math.sin(angle) * liver.semiAxes[1] * reach,
        liverMid + rng.uniform(-0.45, 0.45) * (liverBottom - liverTop),
      ],
      radiusMm: rng.uniform(2.5, 6),
    });
  }
  const ivcCentre: [number, number] = [rng.uniform(-30, -20), spineY - rng.uniform(28, 36)];
  for (let i = 0; i < 3; i++) {
    const angle = Math.PI + (i - 1) * 0.6 + rng.normal(0, 0.15);
    vessels.push({
      kind: 'hepaticVein',
      startMm: [ivcCentre[0], ivcCentre[1] - 10, liverTop + 5],
      endMm: [
        liver.centre[0] + Math.cos(angle) * liver.semiAxes[0] * 0.8,
        liver.centre[1] + Math.sin(angle) * liver.semiAxes[1] * 0.8,
        liverTop + rng.uniform(0.25, 0.5) * (liverBottom - liverTop),
      ],
      radiusMm: rng.uniform(3, 6),
    });
  }
  const ribAngles: number[] = [];
  for (let angle = 0.15; angle < Math.PI - 0.1; angle += rng.uniform(0.3, 0.4))
    ribAngles.push(angle, Math.PI + angle);
  return {
    body,
    subcutaneousFatMm: rng.uniform(8, 30),
    muscleWallMm: rng.uniform(8, 14),
    liver,
    leftLobe,
    spleen,
    stomach,
    kidneys,
    bowel,
    spine: { centre: [body.centre[0], spineY], radiusMm: rng.uniform(17, 22) },
    aorta: {
      centre: [body.centre[0] + rng.uniform(12, 22), spineY - rng.uniform(30, 38)],
      radiusMm: rng.uniform(10, 13),
    },
    ivc: { centre: ivcCentre, semiAxes: [rng.uniform(11, 15), rng.uniform(8, 11)] },
    ribAngles,
    vessels,
  };
}

/** Liver main-lobe boundary radius scale at an in-plane angle (lobulation of the liver outline). */
export function liverMarginScale(anatomy: Anatomy, angle: number): number {
  let scale = 1;
  for (const h of anatomy.liver.harmonics) scale += h.amplitude * Math.cos(h.order * angle + h.phaseRad);
  return scale;
}
