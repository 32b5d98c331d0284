import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeriesDicom } from '../../src/imaging/dicom/writer.ts';
import { sharedPath } from '../helpers/shared.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-inspect-'));
after(() => rm(root, { recursive: true, force: true }));

function inspect(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', 'inspect', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('inspect --json reports a phase case', async () => {
  const hu = Float32Array.from({ length: 4 * 4 * 3 }, (_, i) => -100 + i);
  const base = {
    patientId: 'SYNTH-002',
    patientName: 'SYNTHETIC^TWO',
    columns: 4,
    rows: 4,
    slices: 3,
    hounsfieldUnits: hu,
  };
  await writeCtSeriesDicom(join(root, 'case', 'CT'), {
    ...base,
    pixelSpacingMm: [0.75, 0.75],
    sliceSpacingMm: 5,
  });
  await writeCtSeriesDicom(join(root, 'case', 'PVP'), {
    ...base,
    contrastBolusAgent: 'IOPAMIDOL',
    window: { centre: 40, width: 400 },
    pixelSpacingMm: [0.75, 0.75],
    sliceSpacingMm: 5,
  });
  await writeFile(join(root, 'case', 'PVP', 'truncated.dcm'), Buffer.alloc(0));

  const result = inspect(join(root, 'case'), '--json');
  assert.equal(result.status, 1, 'an unreadable file makes the exit code 1');
  assert.match(result.stderr, /cannot read .*truncated\.dcm/);
  const report = JSON.parse(result.stdout);
  assert.equal(report.series.length, 2);
  const pvp = report.series.find((series: { phase: string }) => series.phase === 'PVP');
  assert.deepEqual(pvp.dimensions, [4, 4, 3]);
  assert.deepEqual(pvp.spacingMm, [0.75, 0.75, 5]);
  assert.equal(pvp.unit, 'HU');
  assert.equal(pvp.min, -100);
  assert.equal(pvp.max, -53);
  assert.equal(pvp.mean, -76.5);
  assert.equal(pvp.transferSyntaxUid, '1.2.840.10008.1.2.1');
  assert.deepEqual(pvp.fileWindow, { centre: 40, width: 400 });
  assert.equal(pvp.sliceFiles.length, 3);
  assert.deepEqual(pvp.warnings, []);
  assert.ok(report.series.some((series: { phase: string }) => series.phase === 'NC'));
  assert.deepEqual(
    report.failedFiles.map((failure: { file: string }) => failure.file.split('/').pop()),
    ['truncated.dcm'],
  );
  assert.ok(report.warnings.includes('missing phases: AP, DP'));
  assert.doesNotMatch(
    result.stdout + result.stderr,
    /SYNTH-002|SYNTHETIC\^TWO/,
    'no patient identifiers in output',
  );
});

test('inspect text marks grey levels', () => {
  const result = inspect(sharedPath('data', 'real-ct', 'cases', 'case-02'));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /dimensions: +512 x 512 x 47/);
  assert.match(result.stdout, /\(grey level, not HU\)/);
  assert.match(result.stdout, /spacing: +unknown/);
});

test('inspect single truncated file fails', async () => {
  const file = join(root, 'rtplan.dcm');
  await copyFile(sharedPath('fixtures', 'dicom', 'rtplan_truncated.dcm'), file);
  const result = inspect(file, '--json');
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.match(
    result.stderr,
    /\[DICOM_INVALID\] DICOM file .*rtplan\.dcm \(Modality RTPLAN, not an image\) is truncated/,
  );
});

test('inspect missing path fails clearly', () => {
  const result = inspect(join(root, 'no-such-folder'));
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[FILE_NOT_FOUND\] path .*no-such-folder does not exist/);
});

test('inspect --phase sets a phase', async () => {
  const hu = Float32Array.from({ length: 8 }, (_, i) => i);
  await writeCtSeriesDicom(join(root, 'mapped', 'series-a'), {
    patientId: 'SYNTH-005',
    patientName: 'SYNTHETIC^FIVE',
    columns: 2,
    rows: 2,
    slices: 2,
    hounsfieldUnits: hu,
  });
  const result = inspect(join(root, 'mapped'), '--json', '--phase', 'series-a=DP');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.series[0].phase, 'DP');
  assert.equal(report.series[0].phaseSource, 'user');

  const invalid = inspect(join(root, 'mapped'), '--phase', 'series-a=venous-ish');
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /\[PHASE_MAPPING_INVALID\] phase "venous-ish" is not a known contrast phase/);
});
