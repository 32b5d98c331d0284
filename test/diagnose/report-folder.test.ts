import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnoseCase } from '../../src/diagnose/diagnose-case.ts';
import { prepareReportFolder } from '../../src/diagnose/report-folder.ts';
import { isLilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

test('report folder under a file rejected', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-report-folder-'));
  try {
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'not a folder');
    for (const outDir of [file, join(file, 'report')]) {
      await assert.rejects(prepareReportFolder(outDir), (error: unknown) => {
        assert.ok(isLilnetError(error));
        assert.equal(error.code, 'OUTPUT_FOLDER_FAILED');
        assert.match(error.message, /cannot write into .*notes\.txt/);
        assert.match(error.message, /a file is in the way/);
        assert.match(error.hint ?? '', /--out/);
        return true;
      });
    }
    assert.equal(readFileSync(file, 'utf8'), 'not a folder');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('report folder created with parents', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-report-folder-'));
  try {
    const outDir = join(root, 'a', 'b');
    await prepareReportFolder(outDir);
    assert.ok(existsSync(outDir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('diagnosis fails before reading the case', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-report-folder-'));
  try {
    const file = join(root, 'report');
    writeFileSync(file, '');
    const stages: string[] = [];
    const casePath = sharedPath('fixtures', 'dicom', 'ct-series-5-slices');
    await assert.rejects(
      diagnoseCase(casePath, { outDir: file, onProgress: (stage) => stages.push(stage) }),
      (error: unknown) => isLilnetError(error) && error.code === 'OUTPUT_FOLDER_FAILED',
    );
    assert.deepEqual(stages, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
