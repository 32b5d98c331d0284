import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeriesDicom, type CtSeriesDicomInput } from '../../src/imaging/dicom/writer.ts';
import { readCase } from '../../src/imaging/read-case.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-damaged-geometry-'));
after(() => rm(root, { recursive: true, force: true }));

function fourSlices(extra: Partial<CtSeriesDicomInput>): CtSeriesDicomInput {
  return {
    patientId: 'SYNTH-009',
    patientName: 'SYNTHETIC^GEOMETRY',
    columns: 4,
    rows: 3,
    slices: 4,
    hounsfieldUnits: Float32Array.from({ length: 48 }, (_, i) => -1000 + i * 10),
    pixelSpacingMm: [0.7, 0.8],
    sliceSpacingMm: 2.5,
    ...extra,
  };
}

test('all-zero orientation keeps every slice', async () => {
  const folder = join(root, 'zero-orientation');
  await writeCtSeriesDicom(folder, fourSlices({ orientation: [0, 0, 0, 0, 0, 0] }));
  const ctCase = await readCase(folder);
  assert.equal(ctCase.series.length, 1);
  const [series] = ctCase.series;
  assert.equal(series.geometry.dimensions[2], 4, `warnings: ${series.warnings.join(' | ')}`);
  assert.ok(!series.warnings.some((warning) => /mixed orientations/.test(warning)));
  assert.ok(
    series.warnings.some((warning) => /ImageOrientationPatient 0\\0\\0\\0\\0\\0 is not/.test(warning)),
  );
});

test('zero pixel spacing is unknown', async () => {
  const folder = join(root, 'zero-spacing');
  await writeCtSeriesDicom(folder, fourSlices({ pixelSpacingMm: [0, 0] }));
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.spacingKnown, false);
  assert.ok(
    series.geometry.spacingMm.every((value) => value > 0),
    `${series.geometry.spacingMm}`,
  );
  assert.ok(series.warnings.some((warning) => /PixelSpacing 0\\0 is not positive/.test(warning)));
});

test('valid geometry gives no warning', async () => {
  const folder = join(root, 'valid');
  await writeCtSeriesDicom(folder, fourSlices({}));
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.spacingKnown, true);
  assert.equal(series.geometry.dimensions[2], 4);
  assert.deepEqual(series.warnings, []);
});
