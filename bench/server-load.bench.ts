/**
 * Load test of the HTTP API. This process starts `lilnet serve` as a child process on loopback and prepares one
 * finished case and one case with a running job. It then sends result reads (the finished job's result and the
 * slices of its series) while the job runs, and again with the server idle.
 *
 * Usage: node --import tsx bench/server-load.bench.ts [maxRequests=4000] [maxSeconds=15] [concurrency=8] [kind=ingest]
 * Every request goes to 127.0.0.1; each phase stops at maxRequests or maxSeconds, whichever comes first.
 * With kind `diagnose` the jobs run the full diagnosis with seeded untrained models (the timing of every stage
 * is real, the calls are not).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeUntrainedModels } from '../test/diagnose/helpers/untrained-models.ts';
import { sharedPath } from '../test/helpers/shared.ts';

const [maxRequests, maxSeconds, concurrency] = [4000, 15, 8].map((fallback, i) =>
  Number(process.argv[2 + i] ?? fallback),
);
const jobKind = process.argv[5] ?? 'ingest';
const PASSWORD = 'bench password 1';

let cookie = '';
let csrfToken = '';

async function call(baseUrl: string, method: string, path: string, body?: unknown | FormData): Promise<any> {
  const headers: Record<string, string> = { cookie };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let payload: string | FormData | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(baseUrl + path, { method, headers, body: payload });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  if (response.headers.get('set-cookie')) cookie = response.headers.get('set-cookie')!.split(';')[0];
  return text.startsWith('{') ? JSON.parse(text) : text;
}

async function uploadFolder(baseUrl: string, caseId: string, folder: string, phase: string): Promise<void> {
  const form = new FormData();
  for (const name of await readdir(folder))
    form.append('files', new Blob([await readFile(join(folder, name))]), name);
  await call(baseUrl, 'POST', `/api/cases/${caseId}/uploads?phase=${phase}`, form);
}

async function waitForJob(baseUrl: string, jobId: string): Promise<any> {
  for (;;) {
    const job = await call(baseUrl, 'GET', `/api/jobs/${jobId}`);
    if (job.status !== 'queued' && job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface PhaseFigures {
  requests: number;
  failures: number;
  seconds: number;
  latenciesMs: number[];
}

/** Sends reads with `concurrency` workers until `shouldStop` or a limit. */
async function load(urls: string[], shouldStop: () => boolean): Promise<PhaseFigures> {
  const latenciesMs: number[] = [];
  let sent = 0;
  let failures = 0;
  const start = performance.now();
  const deadline = start + maxSeconds * 1000;
  const worker = async () => {
    while (sent < maxRequests && performance.now() < deadline && !shouldStop()) {
      const url = urls[sent % urls.length];
      sent += 1;
      const t0 = performance.now();
      const response = await fetch(url, { headers: { cookie } });
      await response.arrayBuffer();
      latenciesMs.push(performance.now() - t0);
      if (!response.ok) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: latenciesMs.length, failures, seconds: (performance.now() - start) / 1000, latenciesMs };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function printFigures(label: string, figures: PhaseFigures): void {
  const sorted = [...figures.latenciesMs].sort((a, b) => a - b);
  const row = [
    label,
    figures.requests,
    figures.failures,
    figures.seconds.toFixed(2),
    (figures.requests / figures.seconds).toFixed(0),
    quantile(sorted, 0.5).toFixed(1),
    quantile(sorted, 0.95).toFixed(1),
    quantile(sorted, 0.99).toFixed(1),
    (sorted.at(-1) ?? NaN).toFixed(1),
  ];
  console.log(`| ${row.join(' | ')} |`);
}

const dataDir = await mkdtemp(join(tmpdir(), 'lilnet-server-bench-'));
const modelOptions: string[] = [];
if (jobKind === 'diagnose') {
  writeUntrainedModels(dataDir);
  modelOptions.push('--models', dataDir);
}
const serveArguments = [
  'bin/lilnet.js',
  'serve',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--json',
  '--data',
  dataDir,
  '--init-admin',
  'bench',
];
const server = spawn(process.execPath, [...serveArguments, ...modelOptions], {
  env: { ...process.env, LILNET_ADMIN_PASSWORD: PASSWORD, LILNET_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  let baseUrl = '';
  for await (const line of createInterface({ input: server.stdout! })) {
    baseUrl = JSON.parse(line).url;
    break;
  }
  if (!baseUrl.startsWith('http://127.0.0.1:')) throw new Error(`unexpected server address ${baseUrl}`);
  csrfToken = (await call(baseUrl, 'POST', '/api/auth/login', { name: 'bench', password: PASSWORD }))
    .csrfToken;

  // A finished case whose results are read.
  const finished = (await call(baseUrl, 'POST', '/api/cases', { label: 'bench finished' })).id;
  await uploadFolder(baseUrl, finished, sharedPath('data', 'real-ct', 'cases', 'case-01'), 'PVP');
  const finishedJob = await waitForJob(
    baseUrl,
    (await call(baseUrl, 'POST', `/api/cases/${finished}/jobs`, { kind: jobKind })).id,
  );
  if (finishedJob.status !== 'succeeded')
    throw new Error(`preparing the finished case failed: ${finishedJob.error}`);
  const series = (await call(baseUrl, 'GET', `/api/cases/${finished}/series`)).series[0];
  const urls = [`${baseUrl}/api/jobs/${finishedJob.id}/result`];
  for (let z = 0; z < series.geometry.dimensions[2]; z += 1)
    urls.push(`${baseUrl}/api/cases/${finished}/series/${series.id}/slices/${z}`);

  // A second case whose job runs during the measurement.
  const busy = (await call(baseUrl, 'POST', '/api/cases', { label: 'bench busy' })).id;
  await uploadFolder(baseUrl, busy, sharedPath('data', 'real-ct', 'cases', 'case-01'), 'PVP');
  await uploadFolder(baseUrl, busy, sharedPath('data', 'real-ct', 'cases', 'case-02'), 'AP');

  console.log(
    `limits: ${maxRequests} requests or ${maxSeconds} s per phase, ${concurrency} concurrent; job kind ${jobKind}`,
  );
  console.log(
    'reads: one job result (JSON) and every slice (512 x 512 x 2 bytes) of a 59-slice series, in turn',
  );
  console.log('| phase | requests | failed | seconds | requests/s | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');

  const job = await call(baseUrl, 'POST', `/api/cases/${busy}/jobs`, { kind: jobKind });
  let jobDone = false;
  const jobWatch = waitForJob(baseUrl, job.id).then((result) => {
    jobDone = true;
    return result;
  });
  while ((await call(baseUrl, 'GET', `/api/jobs/${job.id}`)).status === 'queued')
    await new Promise((r) => setTimeout(r, 20));
  const during = await load(urls, () => jobDone);
  const endedWithJob = jobDone;
  printFigures(`${jobKind} job running`, during);
  const busyJob = await jobWatch;
  const ending = endedWithJob ? 'stopped when the job ended' : 'reached its limit while the job still ran';
  console.log(`the job ${busyJob.status} (${busyJob.kind}); the measurement ${ending}`);

  const idle = await load(urls, () => false);
  printFigures('server idle', idle);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(dataDir, { recursive: true, force: true });
}
