import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePhases, selectSeries } from '../../src/diagnose/select-series.ts';
import type { CtCase, Phase, Series, VoxelUnit } from '../../src/imaging/volume.ts';

function series(
  id: string,
  phase: Phase,
  slices: number,
  extra: { modality?: string; unit?: VoxelUnit } = {},
): Series {
  return {
    id,
    phase,
    phaseSource: 'folder-name',
    unit: extra.unit ?? 'HU',
    modality: extra.modality ?? 'CT',
    voxels: new Float32Array(0),
    geometry: {
      dimensions: [4, 4, slices],
      spacingMm: [1, 1, 1],
      spacingKnown: true,
      originMm: [0, 0, 0],
      direction: { row: [1, 0, 0], column: [0, 1, 0], slice: [0, 0, 1] },
    },
    sliceFiles: [],
    warnings: [],
  };
}

function ctCase(...list: Series[]): CtCase {
  return { id: 'case', series: list, warnings: [], failedFiles: [] };
}

test('parsePhases accepts aliases and lists', () => {
  assert.deepEqual(parsePhases(['ct,ap', 'PVP', 'AP']), ['NC', 'AP', 'PVP']);
  assert.throws(() => parsePhases(['late']), /unknown phase "late"/);
  assert.throws(() => parsePhases([',']), /phase list is empty/);
});

test('default selection is AP and PVP', () => {
  const selection = selectSeries(
    ctCase(series('nc', 'NC', 10), series('ap', 'AP', 10), series('pvp', 'PVP', 10)),
    null,
  );
  assert.deepEqual(
    selection.series.map((s) => s.id),
    ['ap', 'pvp'],
  );
  assert.deepEqual(selection.phasesMissing, []);
  assert.deepEqual(selection.warnings, []);
});

test('non-CT series is skipped with warning', () => {
  const selection = selectSeries(
    ctCase(series('mr', 'AP', 10, { modality: 'MR' }), series('pvp', 'PVP', 10)),
    null,
  );
  assert.deepEqual(
    selection.series.map((s) => s.id),
    ['pvp'],
  );
  assert.ok(
    selection.warnings.some((w) => w.code === 'series-not-ct' && w.message.includes('modality is MR')),
  );
  assert.deepEqual(selection.phasesMissing, ['AP']);
});

test('only non-CT series is an error', () => {
  assert.throws(
    () => selectSeries(ctCase(series('seg', 'AP', 10, { unit: 'label' })), null),
    /no CT series to diagnose/,
  );
  // The error names why each series was skipped, since no report carries the warnings.
  assert.throws(
    () => selectSeries(ctCase(series('mr', 'AP', 10, { modality: 'MR' })), null),
    /series mr \(no description\) was skipped because its modality is MR, not CT/,
  );
});

test('requested NC or DP warns', () => {
  const selection = selectSeries(
    ctCase(series('nc', 'NC', 10), series('ap', 'AP', 10), series('dp', 'DP', 10)),
    ['NC', 'DP'],
  );
  assert.deepEqual(
    selection.series.map((s) => s.id),
    ['nc', 'dp'],
  );
  const warning = selection.warnings.find((w) => w.code === 'phase-untrained');
  assert.ok(warning);
  assert.match(warning.message, /phases NC, DP were requested/);
  assert.match(warning.message, /trained on AP and PVP crops only/);

  const trained = selectSeries(ctCase(series('ap', 'AP', 10), series('pvp', 'PVP', 10)), ['AP', 'PVP']);
  assert.equal(
    trained.warnings.find((w) => w.code === 'phase-untrained'),
    undefined,
  );
});

test('duplicate phase keeps longest series', () => {
  const selection = selectSeries(
    ctCase(series('ap-short', 'AP', 5), series('ap-long', 'AP', 40), series('pvp', 'PVP', 40)),
    null,
  );
  assert.deepEqual(
    selection.series.map((s) => s.id),
    ['ap-long', 'pvp'],
  );
  const warning = selection.warnings.find((w) => w.code === 'duplicate-phase');
  assert.ok(warning);
  assert.match(warning.message, /ap-short \(5 slices\) ignored/);
});

test('no AP or PVP falls back to available phases', () => {
  const selection = selectSeries(ctCase(series('x', 'unknown', 30)), null);
  assert.deepEqual(
    selection.series.map((s) => s.id),
    ['x'],
  );
  assert.deepEqual(selection.phasesMissing, []);
  assert.ok(selection.warnings.some((w) => w.code === 'phase-fallback'));
});
