/**
 * The server log must never contain patient names or IDs. A real `lilnet serve` runs at the most verbose log
 * level while a DICOM series whose headers name a patient is uploaded, ingested and diagnosed. Its stderr,
 * which includes the job processes' logs, is then searched for the header values and for the case label.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import dicomParser from 'dicom-parser';
import { zipSync } from 'fflate';
import { writeUntrainedModels } from '../diagnose/helpers/untrained-models.ts';
import { sharedPath } from '../helpers/shared.ts';
import { ADMIN, ApiClient, filesForm } from './helpers.ts';

const SERIES = sharedPath('fixtures', 'dicom', 'ct-series-5-slices');
let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('server log has no patient name or ID', { timeout: 300_000 }, async () => {
  const names = (await readdir(SERIES)).sort();
  const files = await Promise.all(
    names.map(async (name) => [name, await readFile(join(SERIES, name))] as [string, Buffer]),
  );
  const header = dicomParser.parseDicom(files[0][1]);
  const patientName = header.string('x00100010') ?? '';
  const patientId = header.string('x00100020') ?? '';
  assert.ok(patientName.length > 3, 'the test series carries a patient name');
  assert.ok(patientId.length > 3, 'the test series carries a patient ID');

  dataDir = await mkdtemp(join(tmpdir(), 'lilnet-privacy-test-'));
  const modelsDir = join(dataDir, 'models');
  await mkdir(modelsDir);
  writeUntrainedModels(modelsDir);
  const server = spawn(
    process.execPath,
    [
      'bin/lilnet.js',
      'serve',
      '--port',
      '0',
      '--json',
      '--data',
      join(dataDir, 'data'),
      '--models',
      modelsDir,
      '--init-admin',
      ADMIN.name,
    ],
    {
      env: { ...process.env, LILNET_ADMIN_PASSWORD: ADMIN.password, LILNET_LOG_LEVEL: 'trace' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  let url = '';
  for await (const line of createInterface({ input: server.stdout! })) {
    url = JSON.parse(line).url;
    break;
  }
  try {
    const client = new ApiClient(url);
    assert.equal((await client.login()).status, 200);
    const label = 'privacy label 7341';
    const caseId = (await client.request('POST', '/api/cases', { json: { label } })).body.id;
    const zip = zipSync(Object.fromEntries(files.map(([name, bytes]) => [`series/${name}`, bytes])));
    assert.equal(
      (
        await client.request('POST', `/api/cases/${caseId}/uploads?phase=AP`, {
          form: filesForm([['study.zip', zip]]),
        })
      ).status,
      201,
    );
    const rejected = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([[`${patientId}.txt`, Buffer.from(patientName)]]),
    });
    assert.equal(rejected.status, 400);
    const job = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'diagnose' } });
    const finished = await client.waitForJob(job.body.id, 240_000);
    assert.equal(finished.status, 'succeeded', finished.error);
    await client.request('GET', `/api/cases/${caseId}/report`);
    await client.request('GET', `/api/cases/${caseId}/report.html`);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  assert.match(log, /job finished/, 'the log was captured at trace level');
  const lowerLog = log.toLowerCase();
  for (const part of [...patientName.split('^'), patientId, 'privacy label 7341']) {
    assert.equal(
      lowerLog.includes(part.toLowerCase()),
      false,
      `the server log contains ${JSON.stringify(part)}`,
    );
  }
});
