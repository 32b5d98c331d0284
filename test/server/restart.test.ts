/**
 * A server restart during a job, with the real `lilnet serve` command in a child process: the server is killed
 * while an ingest runs, and the next server must keep the uploads, report the job as interrupted, and rerun it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startServer } from '../../src/server/app.ts';
import { defaultConfig } from '../../src/server/config.ts';
import { createUser } from '../../src/server/users.ts';
import { writeUntrainedModels } from '../diagnose/helpers/untrained-models.ts';
import { sharedPath } from '../helpers/shared.ts';
import { ADMIN, ApiClient, filesForm } from './helpers.ts';

const children: ChildProcess[] = [];
let modelsDir = '';
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `lilnet serve --json` and resolves with its URL once it listens. */
async function serve(dataDir: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const options = ['--port', '0', '--json', '--data', dataDir, '--models', modelsDir, ...extra];
  const child = spawn(process.execPath, ['bin/lilnet.js', 'serve', ...options], {
    env: { ...process.env, LILNET_ADMIN_PASSWORD: ADMIN.password, LILNET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    return { child, url: JSON.parse(line).url };
  }
  throw new Error(`lilnet serve exited with ${child.exitCode} before listening`);
}

async function folderFiles(folder: string): Promise<[string, Uint8Array][]> {
  const names = await readdir(folder);
  return Promise.all(
    names.map(async (name) => [name, await readFile(join(folder, name))] as [string, Uint8Array]),
  );
}

test('restart during a job keeps the case and marks the job interrupted', { timeout: 300_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilnet-restart-test-'));
  modelsDir = join(dataDir, 'models');
  await mkdir(modelsDir);
  writeUntrainedModels(modelsDir);
  try {
    const first = await serve(dataDir, ['--init-admin', ADMIN.name]);
    const client = new ApiClient(first.url);
    assert.equal((await client.login()).status, 200);
    const caseId = (await client.request('POST', '/api/cases', { json: { label: 'restart' } })).body.id;
    for (const [phase, folder] of [
      ['AP', sharedPath('data', 'real-ct', 'cases', 'case-02')],
      ['PVP', sharedPath('data', 'real-ct', 'cases', 'case-01')],
    ]) {
      const upload = await client.request('POST', `/api/cases/${caseId}/uploads?phase=${phase}`, {
        form: filesForm(await folderFiles(folder)),
      });
      assert.equal(upload.status, 201, JSON.stringify(upload.body));
    }
    const started = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'ingest' } });
    assert.equal(started.status, 202);
    let status = started.body.status;
    while (status === 'queued') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await client.request('GET', `/api/jobs/${started.body.id}`)).body.status;
    }
    assert.equal(status, 'running', 'the job was still running when the server was killed');
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;

    const second = await serve(dataDir);
    const again = new ApiClient(second.url);
    // Sessions are stored in the database, so the old session cookie still works after the restart.
    again.cookie = client.cookie;
    again.csrfToken = client.csrfToken;
    const leftovers = (await readdir(join(dataDir, 'cases', caseId))).filter((name) => name.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'the restart removed half-written job folders');
    const job = (await again.request('GET', `/api/jobs/${started.body.id}`)).body;
    assert.equal(job.status, 'interrupted');
    assert.match(job.error, /server stopped/);
    const detail = (await again.request('GET', `/api/cases/${caseId}`)).body;
    assert.deepEqual(
      detail.uploads.map((u: { phase: string; fileCount: number }) => [u.phase, u.fileCount]),
      [
        ['AP', 47],
        ['PVP', 59],
      ],
    );
    assert.equal((await again.request('GET', `/api/jobs/${started.body.id}/result`)).status, 409);

    const rerun = await again.request('POST', `/api/jobs/${started.body.id}/rerun`);
    assert.equal(rerun.status, 202);
    assert.equal(rerun.body.rerunOf, started.body.id);
    const finished = await again.waitForJob(rerun.body.id);
    assert.equal(finished.status, 'succeeded', finished.error);
    const series = (await again.request('GET', `/api/cases/${caseId}/series`)).body.series;
    assert.deepEqual(series.map((s: { phase: string }) => s.phase).sort(), ['AP', 'PVP']);
    const notRerunnable = await again.request('POST', `/api/jobs/${rerun.body.id}/rerun`);
    assert.equal(notRerunnable.status, 409);

    const diagnosis = await again.waitForJob(
      (await again.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'diagnose' } })).body.id,
    );
    assert.equal(diagnosis.status, 'succeeded', diagnosis.error);
    const report = (await again.request('GET', `/api/cases/${caseId}/report`)).body;

    // Finished results survive a clean restart as well.
    const stopped = new Promise((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGTERM');
    assert.equal(await stopped, 0);
    const third = await serve(dataDir);
    const last = new ApiClient(third.url);
    last.cookie = client.cookie;
    last.csrfToken = client.csrfToken;
    const kept = (await last.request('GET', `/api/jobs/${rerun.body.id}`)).body;
    assert.equal(kept.status, 'succeeded');
    assert.equal((await last.request('GET', `/api/cases/${caseId}/series`)).body.series.length, 2);
    const keptReport = await last.request('GET', `/api/cases/${caseId}/report`);
    assert.equal(keptReport.status, 200);
    assert.equal(keptReport.body.createdAt, report.createdAt);
    assert.equal(
      (await last.request('GET', `/api/jobs/${diagnosis.id}/result`)).body.report.createdAt,
      report.createdAt,
    );
    third.child.kill('SIGTERM');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('clean stop during a job marks it interrupted', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilnet-stop-test-'));
  try {
    const config = defaultConfig({ host: '127.0.0.1', port: 0, dataDir });
    const first = await startServer(config);
    await createUser(first.context.db, ADMIN.name, ADMIN.password, 'admin');
    const client = new ApiClient(first.url);
    assert.equal((await client.login()).status, 200);
    const caseId = (await client.request('POST', '/api/cases', { json: { label: 'stop' } })).body.id;
    const files = await folderFiles(sharedPath('data', 'real-ct', 'cases', 'case-01'));
    assert.equal(
      (await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, { form: filesForm(files) }))
        .status,
      201,
    );
    const job = (await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'ingest' } }))
      .body;
    while (first.context.jobs.get(job.id)?.status === 'queued')
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(first.context.jobs.get(job.id)?.status, 'running');
    await first.close();

    const second = await startServer(config);
    try {
      const stopped = second.context.jobs.get(job.id);
      assert.equal(stopped?.status, 'interrupted');
      assert.notEqual(stopped?.finishedAt, null);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
