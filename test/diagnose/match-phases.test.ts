import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchAcrossPhases, trackCentreMm, type PhaseTrack } from '../../src/diagnose/match-phases.ts';
import type { Phase, Series } from '../../src/imaging/volume.ts';

function series(
  id: string,
  phase: Phase,
  options: { originZ?: number; geometry?: boolean; slices?: number } = {},
): Series {
  const slices = options.slices ?? 40;
  const withGeometry = options.geometry ?? true;
  return {
    id,
    phase,
    phaseSource: 'user',
    unit: 'HU',
    voxels: new Float32Array(0),
    geometry: {
      dimensions: [512, 512, slices],
      spacingMm: withGeometry ? [0.7, 0.7, 5] : [1, 1, 1],
      spacingKnown: withGeometry,
      originMm: withGeometry ? [-180, -180, options.originZ ?? 0] : null,
      direction: { row: [1, 0, 0], column: [0, 1, 0], slice: [0, 0, 1] },
    },
    sliceFiles: [],
    warnings: [],
  };
}

function track(s: Series, x: number, y: number, size: number, slices: number[]): PhaseTrack {
  return {
    series: s,
    boxes: slices.map((sliceIndex) => ({
      sliceIndex,
      confidence: 0.9,
      box: { x1: x, y1: y, x2: x + size, y2: y + size },
    })),
  };
}

test('centre follows origin, spacing and direction', () => {
  const s = series('a', 'AP');
  const centre = trackCentreMm(track(s, 100, 200, 20, [10, 12]));
  assert.ok(centre);
  assert.ok(Math.abs(centre[0] - (-180 + 109.5 * 0.7)) < 1e-9);
  assert.ok(Math.abs(centre[1] - (-180 + 209.5 * 0.7)) < 1e-9);
  assert.ok(Math.abs(centre[2] - 55) < 1e-9);
});

test('position match survives slice shift', () => {
  // The PVP series starts 20 mm lower, so the same lesion sits 4 slices later in it.
  const ap = series('ap', 'AP');
  const pvp = series('pvp', 'PVP', { originZ: -20 });
  const lesionAp = track(ap, 100, 100, 30, [10, 11, 12]);
  const otherAp = track(ap, 350, 300, 20, [25, 26]);
  const lesionPvp = track(pvp, 104, 98, 30, [14, 15, 16]);
  const matched = matchAcrossPhases([[lesionAp, otherAp], [lesionPvp]]);
  assert.equal(matched.length, 2);
  assert.equal(matched[0].tracks.length, 2);
  assert.equal(matched[0].tracks[1], lesionPvp);
  assert.equal(matched[0].matchedBy, 'position');
  assert.equal(matched[1].matchedBy, 'single-phase');
});

test('distant lesions stay apart', () => {
  const ap = series('ap', 'AP');
  const pvp = series('pvp', 'PVP');
  const matched = matchAcrossPhases([[track(ap, 100, 100, 20, [10])], [track(pvp, 300, 300, 20, [10])]]);
  assert.equal(matched.length, 2);
});

test('slice overlap matches without geometry', () => {
  const ap = series('ap', 'AP', { geometry: false, slices: 40 });
  const pvp = series('pvp', 'PVP', { geometry: false, slices: 80 });
  // Same fraction of the series extent, different slice counts.
  const matched = matchAcrossPhases([
    [track(ap, 100, 100, 40, [10, 11])],
    [track(pvp, 105, 100, 40, [21, 22])],
  ]);
  assert.equal(matched.length, 1);
  assert.equal(matched[0].matchedBy, 'slice-overlap');
});

test('slice overlap rejects disjoint ranges', () => {
  const ap = series('ap', 'AP', { geometry: false });
  const pvp = series('pvp', 'PVP', { geometry: false });
  const matched = matchAcrossPhases([
    [track(ap, 100, 100, 40, [5, 6])],
    [track(pvp, 100, 100, 40, [30, 31])],
  ]);
  assert.equal(matched.length, 2);
});

test('each lesion takes one track per series', () => {
  const ap = series('ap', 'AP');
  const pvp = series('pvp', 'PVP');
  const matched = matchAcrossPhases([
    [track(ap, 100, 100, 30, [10])],
    [track(pvp, 100, 100, 30, [10]), track(pvp, 110, 100, 30, [10])],
  ]);
  assert.equal(matched.length, 2);
  assert.equal(matched[0].tracks.length, 2);
  assert.equal(matched[0].tracks[1].boxes[0].box.x1, 100);
});

test('chained track matches by nearest box', () => {
  // The AP track chains the lesion (x 100, slices 10-11) with boxes of another structure far to the side (x 300,
  // slices 12-20), so its centre falls between them, near an unrelated PVP detection at x 200. The lesion's
  // own PVP track must win, because one of its boxes lies next to a box of the AP track.
  const ap = series('ap', 'AP');
  const pvp = series('pvp', 'PVP');
  const chained: PhaseTrack = {
    series: ap,
    boxes: [
      ...[10, 11].map((sliceIndex) => ({
        sliceIndex,
        confidence: 0.9,
        box: { x1: 100, y1: 100, x2: 120, y2: 120 },
      })),
      ...[12, 13, 14, 15, 16, 17, 18, 19, 20].map((sliceIndex) => ({
        sliceIndex,
        confidence: 0.5,
        box: { x1: 300, y1: 100, x2: 320, y2: 120 },
      })),
    ],
  };
  const lesionPvp = track(pvp, 101, 99, 20, [10, 11]);
  const unrelatedPvp = track(pvp, 200, 100, 20, [15]);
  const matched = matchAcrossPhases([[chained], [unrelatedPvp, lesionPvp]]);
  assert.equal(matched.length, 2);
  assert.equal(matched[0].tracks[1], lesionPvp);
  assert.deepEqual(matched[1].tracks, [unrelatedPvp]);
});
