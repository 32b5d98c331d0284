import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../helpers/shared.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-inspect-many-'));
after(() => rm(root, { recursive: true, force: true }));

test('many unreadable files are counted', async () => {
  const folder = join(root, 'case');
  await mkdir(folder);
  await copyFile(sharedPath('fixtures', 'dicom', 'CT_small.dcm'), join(folder, 'ct.dcm'));
  for (let i = 0; i < 26; i++) await writeFile(join(folder, `junk-${i}.dat`), `not an image ${i}\n`);

  const result = spawnSync(process.execPath, ['bin/lilnet.js', 'inspect', '--json', folder], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  assert.equal(result.status, 1);
  const report = JSON.parse(result.stdout);
  assert.equal(report.failedFiles.length, 26, 'the JSON report lists every unreadable file');
  assert.equal(report.series.length, 1);

  const lines = result.stderr.split('\n');
  assert.equal(lines.filter((line) => line.startsWith('lilnet: cannot read ')).length, 20);
  assert.ok(
    lines.includes('lilnet: 6 more file(s) cannot be read; inspect --json lists every one in failedFiles'),
  );
  assert.equal(lines.filter((line) => line.includes('"file could not be read"')).length, 20);
  assert.equal(lines.filter((line) => line.includes('more files could not be read')).length, 1);
});
