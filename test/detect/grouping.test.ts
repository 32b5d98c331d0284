import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupLesions, sliceDetectionsFromSeries, type SliceDetections } from '../../src/detect/grouping.ts';
import type { Series } from '../../src/imaging/volume.ts';

const box = (x1: number, y1: number, x2: number, y2: number, score: number) => ({ x1, y1, x2, y2, score });

test('grouping joins overlapping boxes on neighbouring slices', () => {
  const slices: SliceDetections[] = [
    { phase: 'AP', sliceIndex: 10, boxes: [box(100, 100, 140, 140, 0.6), box(300, 300, 320, 320, 0.4)] },
    { phase: 'AP', sliceIndex: 11, boxes: [box(98, 102, 150, 146, 0.9)] },
    { phase: 'AP', sliceIndex: 12, boxes: [box(105, 105, 135, 130, 0.5)] },
    // Same place but three slices further: a separate lesion with the default gap of 1.
    { phase: 'AP', sliceIndex: 15, boxes: [box(100, 100, 140, 140, 0.7)] },
  ];
  const lesions = groupLesions(slices);
  assert.equal(lesions.length, 3);
  const [first] = lesions;
  assert.equal(first.id, 1);
  assert.equal(first.maxScore, 0.9);
  assert.equal(first.phases.length, 1);
  assert.equal(first.phases[0].firstSlice, 10);
  assert.equal(first.phases[0].lastSlice, 12);
  assert.equal(first.phases[0].bestSlice, 11);
  assert.equal(first.phases[0].largestSlice, 11);
  assert.equal(first.maxDiameterPx, 52);
  assert.equal(first.maxDiameterMm, null, 'no pixel spacing given');
  assert.deepEqual(
    lesions.map((lesion) => lesion.phases[0].firstSlice),
    [10, 15, 10],
  );
});

test('grouping bridges one missed slice with a gap of 2', () => {
  const slices: SliceDetections[] = [
    { phase: 'PVP', sliceIndex: 3, boxes: [box(10, 10, 30, 30, 0.5)] },
    { phase: 'PVP', sliceIndex: 5, boxes: [box(12, 12, 30, 30, 0.5)] },
  ];
  assert.equal(groupLesions(slices).length, 2);
  assert.equal(groupLesions(slices, { maxSliceGap: 2 }).length, 1);
});

test('grouping reports diameter in mm from pixel spacing', () => {
  const slices: SliceDetections[] = [
    { phase: 'AP', sliceIndex: 0, pixelSpacingMm: [0.7, 0.8], boxes: [box(0, 0, 40, 30, 0.5)] },
    { phase: 'AP', sliceIndex: 1, pixelSpacingMm: [0.7, 0.8], boxes: [box(0, 0, 30, 38, 0.5)] },
  ];
  const [lesion] = groupLesions(slices);
  // Slice 0: max(40 * 0.7, 30 * 0.8) = 28; slice 1: max(21, 30.4) = 30.4.
  assert.ok(Math.abs(lesion.maxDiameterMm! - 30.4) < 1e-9);
  assert.equal(lesion.phases[0].largestSlice, 1);
  assert.equal(lesion.maxDiameterPx, 40);
});

test('grouping joins phases at the same place', () => {
  const slices: SliceDetections[] = [
    { phase: 'AP', sliceIndex: 20, positionMm: 100, boxes: [box(200, 200, 240, 240, 0.8)] },
    { phase: 'AP', sliceIndex: 21, positionMm: 105, boxes: [box(200, 200, 240, 240, 0.6)] },
    { phase: 'PVP', sliceIndex: 30, positionMm: 104, boxes: [box(205, 195, 245, 238, 0.7)] },
    { phase: 'PVP', sliceIndex: 31, positionMm: 109, boxes: [box(205, 195, 245, 238, 0.95)] },
    // A PVP box far away in the plane stays its own lesion.
    { phase: 'PVP', sliceIndex: 30, positionMm: 104, boxes: [box(50, 50, 70, 70, 0.3)] },
  ];
  const lesions = groupLesions(slices);
  assert.equal(lesions.length, 2);
  const [lesion] = lesions;
  assert.deepEqual(
    lesion.phases.map((phase) => phase.phase),
    ['AP', 'PVP'],
  );
  assert.equal(lesion.phases[0].bestSlice, 20);
  assert.equal(lesion.phases[1].bestSlice, 31);
  assert.equal(lesion.phases[1].firstSlice, 30);
  assert.equal(lesion.maxScore, 0.95);
});

test('grouping from a series uses its geometry', () => {
  const series = {
    id: 'series-1',
    phase: 'AP',
    phaseSource: 'user',
    unit: 'HU',
    voxels: new Float32Array(4 * 4 * 3),
    geometry: {
      dimensions: [4, 4, 3],
      spacingMm: [0.5, 0.5, 2.5],
      spacingKnown: true,
      originMm: [0, 0, -50],
      direction: { row: [1, 0, 0], column: [0, 1, 0], slice: [0, 0, 1] },
    },
    sliceFiles: [],
    warnings: [],
  } satisfies Series;
  const slices = sliceDetectionsFromSeries(series, [[box(0, 0, 2, 2, 0.5)], [], [box(0, 0, 4, 2, 0.6)]]);
  assert.deepEqual(
    slices.map((slice) => slice.positionMm),
    [-50, -47.5, -45],
  );
  assert.deepEqual(slices[0].pixelSpacingMm, [0.5, 0.5]);
  const lesions = groupLesions(slices);
  assert.equal(lesions.length, 2, 'slice 1 has no box, so slices 0 and 2 are not neighbours');
  assert.equal(lesions[0].maxDiameterMm, 2);
  assert.throws(() => sliceDetectionsFromSeries(series, [[]]), /3 slices/);
});
