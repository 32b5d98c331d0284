import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCase } from '../../src/imaging/read-case.ts';
import { sharedPath } from '../helpers/shared.ts';

const SERIES_FOLDER = () => sharedPath('fixtures', 'dicom', 'ct-series-5-slices');

test('unmatched mapping key is reported', async () => {
  const ctCase = await readCase(SERIES_FOLDER(), { phaseMapping: { 'portal venus': 'PVP' } });
  assert.equal(ctCase.series[0].phase, 'unknown');
  assert.ok(
    ctCase.warnings.some((warning) => /phase mapping key "portal venus" matches no series/.test(warning)),
    `warnings: ${ctCase.warnings.join(' | ')}`,
  );
});

test('matched mapping key is not reported', async () => {
  const ctCase = await readCase(SERIES_FOLDER(), {
    phaseMapping: { 'SmartScore - Gated 0.5 sec': 'AP' },
  });
  assert.equal(ctCase.series[0].phase, 'AP');
  assert.equal(ctCase.series[0].phaseSource, 'user');
  assert.ok(!ctCase.warnings.some((warning) => /phase mapping key/.test(warning)));
});
