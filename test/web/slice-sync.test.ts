import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCase } from '../../src/imaging/read-case.ts';
import type { VolumeGeometry } from '../../src/imaging/volume.ts';
import { synchronisedSlice } from '../../web/src/slice-sync.ts';
import { sharedPath } from '../helpers/shared.ts';

function shifted(
  geometry: VolumeGeometry,
  offsetMm: number,
  spacingMm: number,
  slices: number,
): VolumeGeometry {
  const origin = geometry.originMm!;
  const normal = geometry.direction.slice;
  return {
    ...geometry,
    dimensions: [geometry.dimensions[0], geometry.dimensions[1], slices],
    spacingMm: [geometry.spacingMm[0], geometry.spacingMm[1], spacingMm],
    originMm: [
      origin[0] + normal[0] * offsetMm,
      origin[1] + normal[1] * offsetMm,
      origin[2] + normal[2] * offsetMm,
    ],
  };
}

test('sync by position on real DICOM geometry', async () => {
  const ctCase = await readCase(sharedPath('fixtures', 'dicom', 'ct-series-5-slices'));
  const from = { geometry: ctCase.series[0].geometry };
  const spacing = from.geometry.spacingMm[2];
  assert.equal(synchronisedSlice(from, 3, from), 3);
  // A second phase starting one slice further along the normal, with half the slice spacing.
  const to = { geometry: shifted(from.geometry, spacing, spacing / 2, 20) };
  assert.equal(synchronisedSlice(from, 1, to), 0);
  assert.equal(synchronisedSlice(from, 2, to), 2);
  assert.equal(synchronisedSlice(from, 4, to), 6);
  assert.equal(synchronisedSlice(from, 0, to), 0, 'positions before the series clamp to its first slice');
});

test('sync by relative index without geometry', () => {
  const geometry = (slices: number): VolumeGeometry => ({
    dimensions: [512, 512, slices],
    spacingMm: [1, 1, 1],
    spacingKnown: false,
    originMm: null,
    direction: { row: [1, 0, 0], column: [0, 1, 0], slice: [0, 0, 1] },
  });
  assert.equal(synchronisedSlice({ geometry: geometry(59) }, 0, { geometry: geometry(47) }), 0);
  assert.equal(synchronisedSlice({ geometry: geometry(59) }, 58, { geometry: geometry(47) }), 46);
  assert.equal(synchronisedSlice({ geometry: geometry(59) }, 29, { geometry: geometry(47) }), 23);
  assert.equal(synchronisedSlice({ geometry: geometry(1) }, 0, { geometry: geometry(47) }), 0);
});
