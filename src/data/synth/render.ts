/**
 * Renders one axial slice of a synthetic patient in one phase, in Hounsfield units. A slice depends only on
 * (patient, phase, slice index), so any subset of slices renders to the same values in any order.
 *
 * Shapes are painted back to front with partial-volume edges (coverage blended over about one pixel), then
 * liver texture and spatially correlated image noise are added and values are rounded to integers, as a
 * scanner stores them.
 */
import { hashSeed } from '../rng.ts';
import { organScale, liverMarginScale, type Ellipse, type Organ } from './anatomy.ts';
import { lesionHu, marginScale, type SynthLesion } from './lesion.ts';
import { fractalNoise3, hashNormal } from './noise.ts';
import { sliceDepthMm, type SynthPatient } from './patient.ts';
import { SYNTH_PHASES, tissueHu, type SynthPhase, type TissueName } from './tissue.ts';

/** Lowest value a scanner stores (air outside the reconstruction circle and noise floor), HU. */
export const MIN_HU = -1024;

/** Pixel centre of column `i` in image-plane millimetres. */
export function pixelToMm(i: number, size: number, spacingMm: number): number {
  return (i + 0.5 - size / 2) * spacingMm;
}

export function mmToPixel(mm: number, size: number, spacingMm: number): number {
  return mm / spacingMm + size / 2 - 0.5;
}

function coverage(signedDistanceMm: number, edgeMm: number): number {
  const alpha = 0.5 - signedDistanceMm / edgeMm;
  return alpha <= 0 ? 0 : alpha >= 1 ? 1 : alpha;
}

/** Approximate signed distance (mm, negative inside) of a point from an axis-aligned ellipse. */
function ellipseDistance(x: number, y: number, e: Ellipse, scale = 1): number {
  const a = e.semiAxes[0] * scale;
  const b = e.semiAxes[1] * scale;
  if (a <= 0 || b <= 0) return Infinity;
  const nx = (x - e.centre[0]) / a;
  const ny = (y - e.centre[1]) / b;
  return (Math.sqrt(nx * nx + ny * ny) - 1) * Math.min(a, b);
}

/** Geometry of a lesion at one point of a slice: normalised radius and coverage. */
export interface LesionSample {
  rho: number;
  angle: number;
  coverage: number;
}

/** Samples lesion geometry at in-plane point (x, y) mm on the slice at zMm, shift already applied. */
export function sampleLesionAt(
  lesion: SynthLesion,
  x: number,
  y: number,
  zMm: number,
  pixelSpacingMm: number,
): LesionSample {
  const [cx, cy, cz] = lesion.centreMm;
  const [a, b, c] = lesion.semiAxesMm;
  const dx = x - cx;
  const dy = y - cy;
  const cos = Math.cos(lesion.rotationRad);
  const sin = Math.sin(lesion.rotationRad);
  const u = (dx * cos + dy * sin) / a;
  const v = (-dx * sin + dy * cos) / b;
  const w = (zMm - cz) / c;
  const angle = Math.atan2(v, u);
  const scale = marginScale(lesion, angle);
  const rho = Math.sqrt(u * u + v * v + w * w) / scale;
  const edge = Math.max(lesion.marginWidthMm, 0.6 * pixelSpacingMm);
  return { rho, angle, coverage: coverage((rho - 1) * scale * b, edge) };
}

interface Layer {
  tissue: TissueName;
  distance: (x: number, y: number) => number;
  /** Bounding box in mm [xMin, yMin, xMax, yMax]; outside it the layer covers nothing. */
  bounds: [number, number, number, number];
}

function ellipseBounds(e: Ellipse, scale = 1): [number, number, number, number] {
  const a = e.semiAxes[0] * scale;
  const b = e.semiAxes[1] * scale;
  return [e.centre[0] - a, e.centre[1] - b, e.centre[0] + a, e.centre[1] + b];
}

/** Builds the painting order of the normal anatomy at one z, back (body) to front (vessels). */
function anatomyLayers(patient: SynthPatient, zMm: number): Layer[] {
  const a = patient.anatomy;
  const layers: Layer[] = [];
  const body = a.body;
  layers.push({
    tissue: 'fat',
    distance: (x, y) => ellipseDistance(x, y, body),
    bounds: ellipseBounds(body),
  });
  const muscleShell: Ellipse = {
    centre: body.centre,
    semiAxes: [body.semiAxes[0] - a.subcutaneousFatMm, body.semiAxes[1] - a.subcutaneousFatMm * 0.8],
  };
  layers.push({
    tissue: 'muscle',
    distance: (x, y) => ellipseDistance(x, y, muscleShell),
    bounds: ellipseBounds(muscleShell),
  });
  const visceral: Ellipse = {
    centre: body.centre,
    semiAxes: [muscleShell.semiAxes[0] - a.muscleWallMm, muscleShell.semiAxes[1] - a.muscleWallMm],
  };
  layers.push({
    tissue: 'fat',
    distance: (x, y) => ellipseDistance(x, y, visceral),
    bounds: ellipseBounds(visceral),
  });
  for (const rib of a.ribAngles) {
    const rx = visceral.centre[0] + Math.cos(rib) * (visceral.semiAxes[0] + a.muscleWallMm * 0.4);
    const ry = visceral.centre[1] + Math.sin(rib) * (visceral.semiAxes[1] + a.muscleWallMm * 0.4);
    if (ry < body.centre[1] - body.semiAxes[1] * 0.5) continue;
    const ribShape: Ellipse = { centre: [rx, ry], semiAxes: [5, 5] };
    layers.push({
      tissue: 'corticalBone',
      distance: (x, y) => ellipseDistance(x, y, ribShape),
      bounds: ellipseBounds(ribShape),
    });
  }
  const organ = (tissue: TissueName, o: Organ, peakAt = 0.4) => {
    const s = organScale(o, zMm, peakAt);
    if (s > 0)
      layers.push({ tissue, distance: (x, y) => ellipseDistance(x, y, o, s), bounds: ellipseBounds(o, s) });
  };
  for (const loop of a.bowel) {
    const s = organScale(loop, zMm, 0.2);
    if (s <= 0) continue;
    layers.push({
      tissue: 'bowel',
      distance: (x, y) => ellipseDistance(x, y, loop, s),
      bounds: ellipseBounds(loop, s),
    });
    if (loop.air)
      layers.push({
        tissue: 'air',
        distance: (x, y) => ellipseDistance(x, y, loop, s * 0.6),
        bounds: ellipseBounds(loop, s * 0.6),
      });
  }
  const stomachScale = organScale(a.stomach, zMm, 0.3);
  if (stomachScale > 0) {
    layers.push({
      tissue: 'bowel',
      distance: (x, y) => ellipseDistance(x, y, a.stomach, stomachScale),
      bounds: ellipseBounds(a.stomach, stomachScale),
    });
    layers.push({
      tissue: 'gastricFluid',
      distance: (x, y) => ellipseDistance(x, y, a.stomach, stomachScale * 0.8),
      bounds: ellipseBounds(a.stomach, stomachScale * 0.8),
    });
    // Gas rises to the anterior (top) part of the lumen.
    const airLevel =
      a.stomach.centre[1] - a.stomach.semiAxes[1] * stomachScale * 0.8 * (1 - 2 * a.stomach.airFraction);
    layers.push({
      tissue: 'air',
      distance: (x, y) => Math.max(ellipseDistance(x, y, a.stomach, stomachScale * 0.8), y - airLevel),
      bounds: ellipseBounds(a.stomach, stomachScale * 0.8),
    });
  }
  organ('spleen', a.spleen);
  for (const kidney of a.kidneys) {
    const s = organScale(kidney, zMm, 0.3);
    if (s <= 0) continue;
    layers.push({
      tissue: 'kidneyCortex',
      distance: (x, y) => ellipseDistance(x, y, kidney, s),
      bounds: ellipseBounds(kidney, s),
    });
    layers.push({
      tissue: 'kidneyMedulla',
      distance: (x, y) => ellipseDistance(x, y, kidney, s * 0.6),
      bounds: ellipseBounds(kidney, s * 0.6),
    });
  }
  for (const side of [-1, 1]) {
    const paraspinal: Ellipse = {
      centre: [a.spine.centre[0] + side * 30, a.spine.centre[1] + 25],
      semiAxes: [24, 18],
    };
    layers.push({
      tissue: 'muscle',
      distance: (x, y) => ellipseDistance(x, y, paraspinal),
      bounds: ellipseBounds(paraspinal),
    });
  }
  const spine = a.spine;
  const spineShape: Ellipse = { centre: spine.centre, semiAxes: [spine.radiusMm, spine.radiusMm * 0.9] };
  layers.push({
    tissue: 'corticalBone',
    distance: (x, y) => ellipseDistance(x, y, spineShape),
    bounds: ellipseBounds(spineShape),
  });
  layers.push({
    tissue: 'cancellousBone',
    distance: (x, y) => ellipseDistance(x, y, spineShape, 0.85),
    bounds: ellipseBounds(spineShape, 0.85),
  });
  const canal: Ellipse = {
    centre: [spine.centre[0], spine.centre[1] + spine.radiusMm + 8],
    semiAxes: [8, 7],
  };
  const arch: Ellipse = { centre: canal.centre, semiAxes: [14, 12] };
  layers.push({
    tissue: 'corticalBone',
    distance: (x, y) => ellipseDistance(x, y, arch),
    bounds: ellipseBounds(arch),
  });
  layers.push({
    tissue: 'spinalCanal',
    distance: (x, y) => ellipseDistance(x, y, canal),
    bounds: ellipseBounds(canal),
  });

  const liverScale = organScale(a.liver, zMm);
  const leftScale = organScale(a.leftLobe, zMm, 0.2);
  if (liverScale > 0 || leftScale > 0) {
    const lobulation = 1 + a.liver.harmonics.reduce((sum, h) => sum + h.amplitude, 0);
    const main = liverScale > 0 ? ellipseBounds(a.liver, liverScale * lobulation) : null;
    const left = leftScale > 0 ? ellipseBounds(a.leftLobe, leftScale) : null;
    const bounds: [number, number, number, number] = [
      Math.min(main?.[0] ?? Infinity, left?.[0] ?? Infinity),
      Math.min(main?.[1] ?? Infinity, left?.[1] ?? Infinity),
      Math.max(main?.[2] ?? -Infinity, left?.[2] ?? -Infinity),
      Math.max(main?.[3] ?? -Infinity, left?.[3] ?? -Infinity),
    ];
    layers.push({
      tissue: 'liver',
      distance: (x, y) => liverDistance(patient, x, y, liverScale, leftScale),
      bounds,
    });
  }
  const aorta: Ellipse = { centre: a.aorta.centre, semiAxes: [a.aorta.radiusMm, a.aorta.radiusMm] };
  layers.push({
    tissue: 'aorta',
    distance: (x, y) => ellipseDistance(x, y, aorta),
    bounds: ellipseBounds(aorta),
  });
  layers.push({
    tissue: 'ivc',
    distance: (x, y) => ellipseDistance(x, y, a.ivc),
    bounds: ellipseBounds(a.ivc),
  });
  return layers;
}

function liverDistance(
  patient: SynthPatient,
  x: number,
  y: number,
  liverScale: number,
  leftScale: number,
): number {
  const a = patient.anatomy;
  let distance = Infinity;
  if (liverScale > 0) {
    const semiA = a.liver.semiAxes[0] * liverScale;
    const semiB = a.liver.semiAxes[1] * liverScale;
    const nx = (x - a.liver.centre[0]) / semiA;
    const ny = (y - a.liver.centre[1]) / semiB;
    const scale = liverMarginScale(a, Math.atan2(ny, nx));
    distance = (Math.sqrt(nx * nx + ny * ny) / scale - 1) * Math.min(semiA, semiB) * scale;
  }
  if (leftScale > 0) distance = Math.min(distance, ellipseDistance(x, y, a.leftLobe, leftScale));
  return distance;
}

/** In-plane cross-sections of the intrahepatic vessels at z: circles with their tissue. */
function vesselSections(patient: SynthPatient, zMm: number): { tissue: TissueName; shape: Ellipse }[] {
  const sections: { tissue: TissueName; shape: Ellipse }[] = [];
  for (const vessel of patient.anatomy.vessels) {
    const [x0, y0, z0] = vessel.startMm;
    const [x1, y1, z1] = vessel.endMm;
    const span = z1 - z0;
    // A vessel running nearly in-plane shows as a short chain of circles along its course.
    const samples = Math.abs(span) < 1e-6 ? [0.5] : [(zMm - z0) / span];
    for (const t of samples) {
      if (t < 0 || t > 1) continue;
      const taper = 1 - 0.5 * t;
      const radius = vessel.radiusMm * taper;
      sections.push({
        tissue: vessel.kind,
        shape: { centre: [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t], semiAxes: [radius, radius] },
      });
    }
  }
  return sections;
}

/** A rectangle of pixels: columns [x0, x1), rows [y0, y1). */
export interface PixelRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Renders slice `sliceIndex` of one phase: `size * size` values in HU, row by row, rounded to integers.
 * `options.noise: false` leaves out the image noise (for tests of the enhancement model).
 */
export function renderSlice(
  patient: SynthPatient,
  phase: SynthPhase,
  sliceIndex: number,
  options: { noise?: boolean } = {},
): Float32Array {
  const size = patient.geometry.size;
  return renderRegionPhases(patient, [phase], sliceIndex, { x0: 0, y0: 0, x1: size, y1: size }, options)[0];
}

/** Renders whole slice `sliceIndex` in several phases with one pass over the anatomy; same values as {@link renderSlice}. */
export function renderSlicePhases(
  patient: SynthPatient,
  phases: readonly SynthPhase[],
  sliceIndex: number,
): Float32Array[] {
  const size = patient.geometry.size;
  return renderRegionPhases(patient, phases, sliceIndex, { x0: 0, y0: 0, x1: size, y1: size });
}

/**
 * Renders a rectangle of a slice, row by row. Every pixel, noise included, has the same value as in the whole
 * slice, so crops can be rendered without the rest of the image.
 */
export function renderRegion(
  patient: SynthPatient,
  phase: SynthPhase,
  sliceIndex: number,
  region: PixelRegion,
  options: { noise?: boolean } = {},
): Float32Array {
  return renderRegionPhases(patient, [phase], sliceIndex, region, options)[0];
}

/** Shift of a phase in whole pixels (the sampled shifts are multiples of the pixel spacing). */
function shiftPixels(patient: SynthPatient, phase: SynthPhase): [number, number] {
  const [x, y] = patient.phaseShiftMm[phase];
  const spacing = patient.geometry.pixelSpacingMm;
  return [Math.round(x / spacing), Math.round(y / spacing)];
}

/**
 * Paints the normal anatomy of a slice over `region` in anatomy pixel coordinates (before any phase shift),
 * blending every phase's tissue values at once, so the shapes are evaluated once for all phases.
 */
function paintAnatomy(
  patient: SynthPatient,
  phases: readonly SynthPhase[],
  zMm: number,
  region: PixelRegion,
): Float32Array[] {
  const { size, pixelSpacingMm } = patient.geometry;
  const profile = patient.profile;
  const layers = anatomyLayers(patient, zMm).map((layer) => ({
    ...layer,
    hu: phases.map((phase) => tissueHu(layer.tissue, phase, profile)),
  }));
  const vessels = vesselSections(patient, zMm).map((v) => ({
    ...v,
    bounds: ellipseBounds(v.shape),
    hu: phases.map((phase) => tissueHu(v.tissue, phase, profile)),
  }));
  const liverLayer = layers.find((layer) => layer.tissue === 'liver');
  const textureSeed = hashSeed(patient.seed, 101);
  const edgeMm = pixelSpacingMm;
  const width = region.x1 - region.x0;
  const height = region.y1 - region.y0;
  const phaseCount = phases.length;
  const images = phases.map(() => new Float32Array(width * height).fill(-1000));
  const liverCoverage = new Float32Array(width * height);

  // Pixel range of a bounding box in mm, clipped to the region; empty when start > end.
  const pixelRange = (bounds: [number, number, number, number]) => ({
    columnStart: Math.max(region.x0, Math.floor(mmToPixel(bounds[0] - edgeMm, size, pixelSpacingMm))),
    columnEnd: Math.min(region.x1 - 1, Math.ceil(mmToPixel(bounds[2] + edgeMm, size, pixelSpacingMm))),
    rowStart: Math.max(region.y0, Math.floor(mmToPixel(bounds[1] - edgeMm, size, pixelSpacingMm))),
    rowEnd: Math.min(region.y1 - 1, Math.ceil(mmToPixel(bounds[3] + edgeMm, size, pixelSpacingMm))),
  });

  // Layers are painted back to front, each over its own bounding box only.
  for (const layer of layers) {
    const { columnStart, columnEnd, rowStart, rowEnd } = pixelRange(layer.bounds);
    const isLiver = layer === liverLayer;
    const coversLiver = layer.tissue === 'aorta' || layer.tissue === 'ivc';
    for (let row = rowStart; row <= rowEnd; row++) {
      const y = pixelToMm(row, size, pixelSpacingMm);
      for (let column = columnStart; column <= columnEnd; column++) {
        const x = pixelToMm(column, size, pixelSpacingMm);
        const alpha = coverage(layer.distance(x, y), edgeMm);
        if (alpha === 0) continue;
        const index = (row - region.y0) * width + (column - region.x0);
        if (isLiver) {
          liverCoverage[index] = alpha;
          const texture = 4 * fractalNoise3(textureSeed, x / 9, y / 9, zMm / 9);
          for (let p = 0; p < phaseCount; p++)
            images[p][index] += (layer.hu[p] + texture - images[p][index]) * alpha;
        } else {
          for (let p = 0; p < phaseCount; p++) images[p][index] += (layer.hu[p] - images[p][index]) * alpha;
          if (coversLiver) liverCoverage[index] *= 1 - alpha;
        }
      }
    }
  }
  for (const vessel of vessels) {
    const { columnStart, columnEnd, rowStart, rowEnd } = pixelRange(vessel.bounds);
    for (let row = rowStart; row <= rowEnd; row++) {
      const y = pixelToMm(row, size, pixelSpacingMm);
      for (let column = columnStart; column <= columnEnd; column++) {
        const index = (row - region.y0) * width + (column - region.x0);
        if (liverCoverage[index] === 0) continue;
        const x = pixelToMm(column, size, pixelSpacingMm);
        const alpha = coverage(ellipseDistance(x, y, vessel.shape), edgeMm) * liverCoverage[index];
        if (alpha > 0)
          for (let p = 0; p < phaseCount; p++) images[p][index] += (vessel.hu[p] - images[p][index]) * alpha;
      }
    }
  }
  return images;
}

/** Renders a rectangle of a slice in several phases; element i is phase `phases[i]`. */
export function renderRegionPhases(
  patient: SynthPatient,
  phases: readonly SynthPhase[],
  sliceIndex: number,
  region: PixelRegion,
  options: { noise?: boolean } = {},
): Float32Array[] {
  const { size, pixelSpacingMm } = patient.geometry;
  const zMm = sliceDepthMm(patient.geometry, sliceIndex);
  const profile = patient.profile;
  const width = region.x1 - region.x0;
  const height = region.y1 - region.y0;

  // One anatomy pass over the union of the region seen through every phase's shift.
  const shifts = phases.map((phase) => shiftPixels(patient, phase));
  const anatomyRegion: PixelRegion = {
    x0: region.x0 - Math.max(...shifts.map(([dx]) => dx)),
    y0: region.y0 - Math.max(...shifts.map(([, dy]) => dy)),
    x1: region.x1 - Math.min(...shifts.map(([dx]) => dx)),
    y1: region.y1 - Math.min(...shifts.map(([, dy]) => dy)),
  };
  const anatomyWidth = anatomyRegion.x1 - anatomyRegion.x0;
  const anatomy = paintAnatomy(patient, phases, zMm, anatomyRegion);
  const edgeMm = pixelSpacingMm;
  const lesions = patient.lesions
    .filter((lesion) => Math.abs(zMm - lesion.centreMm[2]) < lesion.semiAxesMm[2] + lesion.marginWidthMm)
    .map((lesion) => {
      const reach = lesion.diameterMm / 2 + 2 * lesion.marginWidthMm + edgeMm;
      return {
        lesion,
        bounds: [
          lesion.centreMm[0] - reach,
          lesion.centreMm[1] - reach,
          lesion.centreMm[0] + reach,
          lesion.centreMm[1] + reach,
        ],
      };
    });

  return phases.map((phase, p) => {
    const [dx, dy] = shifts[p];
    const [shiftX, shiftY] = patient.phaseShiftMm[phase];
    const image = new Float32Array(width * height);
    for (let row = region.y0; row < region.y1; row++) {
      const anatomyRow = row - dy - anatomyRegion.y0;
      for (let column = region.x0; column < region.x1; column++) {
        image[(row - region.y0) * width + (column - region.x0)] =
          anatomy[p][anatomyRow * anatomyWidth + (column - dx - anatomyRegion.x0)];
      }
    }
    for (const { lesion, bounds } of lesions) {
      // Pixels whose lesion-frame position falls inside the lesion's reach.
      const columnStart = Math.max(
        region.x0,
        Math.floor(mmToPixel(bounds[0] + shiftX, size, pixelSpacingMm)),
      );
      const columnEnd = Math.min(
        region.x1 - 1,
        Math.ceil(mmToPixel(bounds[2] + shiftX, size, pixelSpacingMm)),
      );
      const rowStart = Math.max(region.y0, Math.floor(mmToPixel(bounds[1] + shiftY, size, pixelSpacingMm)));
      const rowEnd = Math.min(region.y1 - 1, Math.ceil(mmToPixel(bounds[3] + shiftY, size, pixelSpacingMm)));
      for (let row = rowStart; row <= rowEnd; row++) {
        const y = pixelToMm(row, size, pixelSpacingMm) - shiftY;
        for (let column = columnStart; column <= columnEnd; column++) {
          const x = pixelToMm(column, size, pixelSpacingMm) - shiftX;
          const sample = sampleLesionAt(lesion, x, y, zMm, pixelSpacingMm);
          if (sample.coverage === 0) continue;
          const hu = lesionHu(
            lesion,
            phase,
            { rho: Math.min(sample.rho, 1), angle: sample.angle, xMm: x, yMm: y, zMm },
            profile,
          );
          const index = (row - region.y0) * width + (column - region.x0);
          image[index] += (hu - image[index]) * sample.coverage;
        }
      }
    }
    if (options.noise !== false) {
      addCorrelatedNoise(
        image,
        region,
        patient.noiseStdHu,
        hashSeed(patient.seed, SYNTH_PHASES.indexOf(phase), sliceIndex, 7),
      );
    }
    // Adding 0 turns -0 into 0, as an integer-valued scanner image has no negative zero.
    for (let i = 0; i < image.length; i++) image[i] = Math.max(MIN_HU, Math.round(image[i])) + 0;
    return image;
  });
}

/**
 * Adds Gaussian noise of standard deviation `stdHu` with short-range correlation (white noise averaged over
 * 3 x 3 pixels), which looks more like reconstructed CT noise than independent pixels do. The white noise of
 * a pixel depends only on its position, so a region gets the same noise as the whole slice.
 */
function addCorrelatedNoise(image: Float32Array, region: PixelRegion, stdHu: number, seed: number): void {
  const width = region.x1 - region.x0;
  const height = region.y1 - region.y0;
  const paddedWidth = width + 2;
  const white = new Float32Array(paddedWidth * (height + 2));
  const whiteStd = stdHu * 3;
  for (let row = 0; row < height + 2; row++) {
    for (let column = 0; column < paddedWidth; column++) {
      white[row * paddedWidth + column] =
        whiteStd * hashNormal(seed, region.y0 + row - 1, region.x0 + column - 1);
    }
  }
  const rowSums = new Float32Array(width * (height + 2));
  for (let row = 0; row < height + 2; row++) {
    for (let column = 0; column < width; column++) {
      const i = row * paddedWidth + column;
      rowSums[row * width + column] = white[i] + white[i + 1] + white[i + 2];
    }
  }
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const sum =
        rowSums[row * width + column] +
        rowSums[(row + 1) * width + column] +
        rowSums[(row + 2) * width + column];
      image[row * width + column] += sum / 9;
    }
  }
}
