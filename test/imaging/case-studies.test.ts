import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeriesDicom, type CtSeriesDicomInput } from '../../src/imaging/dicom/writer.ts';
import { readCase } from '../../src/imaging/read-case.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-case-studies-'));
after(() => rm(root, { recursive: true, force: true }));

function twoSlices(studyInstanceUid: string): CtSeriesDicomInput {
  return {
    patientId: 'SYNTH-010',
    patientName: 'SYNTHETIC^STUDIES',
    columns: 3,
    rows: 3,
    slices: 2,
    hounsfieldUnits: Float32Array.from({ length: 18 }, (_, i) => -900 + i),
    pixelSpacingMm: [0.7, 0.7],
    sliceSpacingMm: 5,
    studyInstanceUid,
  };
}

test('two studies in one case warn', async () => {
  const folder = join(root, 'two-studies');
  await writeCtSeriesDicom(join(folder, 'PVP'), twoSlices('2.25.101'));
  await writeCtSeriesDicom(join(folder, 'AP'), twoSlices('2.25.102'));
  const ctCase = await readCase(folder);
  assert.equal(ctCase.series.length, 2);
  assert.ok(
    ctCase.warnings.some((warning) => /come from 2 studies \(StudyInstanceUID\)/.test(warning)),
    `warnings: ${ctCase.warnings.join(' | ')}`,
  );
});

test('one study gives no study warning', async () => {
  const folder = join(root, 'one-study');
  await writeCtSeriesDicom(join(folder, 'PVP'), twoSlices('2.25.103'));
  await writeCtSeriesDicom(join(folder, 'AP'), twoSlices('2.25.103'));
  const ctCase = await readCase(folder);
  assert.equal(ctCase.series.length, 2);
  assert.ok(!ctCase.warnings.some((warning) => /StudyInstanceUID/.test(warning)));
});
