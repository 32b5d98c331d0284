/**
 * Scrolling speed of the web viewer on a large case. A synthetic 300-slice 512 x 512 CT series (DICOM written
 * by lilnet's writer) is uploaded and ingested on a loopback server. Headless Chromium then steps through every
 * slice with the arrow key. Inside the page, each step is timed from the key event to the canvas showing the
 * new slice, once with an empty cache (slices fetched while scrolling, helped by prefetch) and once warm.
 *
 * Usage: node --import tsx bench/viewer-scroll.bench.ts [slices=300]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { writeCtSeriesDicom } from '../src/imaging/dicom/writer.ts';
import { startServer } from '../src/server/app.ts';
import { defaultConfig } from '../src/server/config.ts';
import { createUser } from '../src/server/users.ts';

const slices = Number(process.argv[2] ?? 300);
const SIZE = 512;
const PASSWORD = 'bench password 1';

/** Builds a body ellipse of soft tissue with a liver-like region and a lesion whose size changes along z. */
function phantom(): Int16Array {
  const values = new Int16Array(SIZE * SIZE * slices);
  for (let z = 0; z < slices; z += 1) {
    const lesionRadius = 10 + 30 * Math.sin((Math.PI * z) / slices);
    for (let y = 0; y < SIZE; y += 1) {
      for (let x = 0; x < SIZE; x += 1) {
        const body = ((x - 256) / 220) ** 2 + ((y - 256) / 170) ** 2 <= 1;
        const liver = ((x - 190) / 110) ** 2 + ((y - 240) / 90) ** 2 <= 1;
        const lesion = (x - 170) ** 2 + (y - 230) ** 2 <= lesionRadius ** 2;
        let hu = -1000;
        if (lesion && body) hu = 20;
        else if (liver && body) hu = 60;
        else if (body) hu = 40;
        values[x + SIZE * (y + SIZE * z)] = hu + ((x * 7 + y * 13 + z * 17) % 11) - 5;
      }
    }
  }
  return values;
}

function summary(stepsMs: number[]): string {
  const sorted = [...stepsMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  const total = stepsMs.reduce((sum, value) => sum + value, 0);
  return `| ${stepsMs.length} | ${at(0.5)} | ${at(0.95)} | ${sorted.at(-1)!.toFixed(1)} | ${(stepsMs.length / (total / 1000)).toFixed(0)} |`;
}

const root = await mkdtemp(join(tmpdir(), 'lilnet-viewer-bench-'));
const server = await startServer(defaultConfig({ host: '127.0.0.1', port: 0, dataDir: join(root, 'data') }));
const context = await chromium.launchPersistentContext(join(root, 'profile'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1500, height: 1000 },
});
try {
  await createUser(server.context.db, 'bench', PASSWORD, 'admin');
  const seriesDir = join(root, 'series');
  await writeCtSeriesDicom(seriesDir, {
    patientId: 'PHANTOM-BENCH',
    patientName: 'PHANTOM^BENCH',
    columns: SIZE,
    rows: SIZE,
    slices,
    storedValues: phantom(),
    rescaleIntercept: 0,
    pixelSpacingMm: [0.7, 0.7],
    sliceSpacingMm: 1,
  });

  // Sign in, create the case, upload and ingest through the API as the browser would.
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  const api = page.request;
  const login = await (
    await api.post(`${server.url}/api/auth/login`, { data: { name: 'bench', password: PASSWORD } })
  ).json();
  const headers = { 'x-csrf-token': login.csrfToken, origin: server.url };
  const created = await (
    await api.post(`${server.url}/api/cases`, { data: { label: 'scroll bench' }, headers })
  ).json();
  const multipart: Record<string, { name: string; mimeType: string; buffer: Buffer }> = {};
  for (const name of await readdir(seriesDir)) {
    multipart[name] = { name, mimeType: 'application/dicom', buffer: await readFile(join(seriesDir, name)) };
  }
  const upload = await api.post(`${server.url}/api/cases/${created.id}/uploads?phase=PVP`, {
    multipart,
    headers,
    timeout: 300_000,
  });
  if (!upload.ok()) throw new Error(`upload failed: ${await upload.text()}`);
  const job = await (
    await api.post(`${server.url}/api/cases/${created.id}/jobs`, { data: { kind: 'ingest' }, headers })
  ).json();
  await server.context.jobs.whenIdle();
  const finished = server.context.jobs.get(job.id)!;
  if (finished.status !== 'succeeded') throw new Error(`ingest failed: ${finished.error}`);

  await page.goto(`${server.url}/#/cases/${created.id}`);
  await page.reload();
  await page.getByTestId('slice-canvas').waitFor();
  // Sent as source text: tsx would wrap named functions of a callback in a helper the page does not have.
  const passes = (await page.evaluate(`(async (count) => {
    const canvas = document.querySelector('[data-testid="slice-canvas"]');
    const waitFor = (z) =>
      new Promise((resolve) => {
        const check = () => ((canvas.dataset.rendered ?? '').endsWith(':' + z) ? resolve() : requestAnimationFrame(check));
        check();
      });
    const press = (key) => canvas.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
    const results = [];
    for (let pass = 0; pass < 2; pass += 1) {
      press('Home');
      await waitFor(0);
      const steps = [];
      for (let z = 1; z < count; z += 1) {
        const start = performance.now();
        press('ArrowDown');
        await waitFor(z);
        steps.push(performance.now() - start);
      }
      results.push(steps);
    }
    return results;
  })(${slices})`)) as number[][];
  console.log(
    `${slices} slices of ${SIZE} x ${SIZE}, int16 Hounsfield units; one step = arrow key to the new slice on the canvas`,
  );
  console.log('| pass | steps | p50 ms | p95 ms | max ms | slices/s |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(`| first (fetching) ${summary(passes[0])}`);
  console.log(`| second (cached) ${summary(passes[1])}`);
} finally {
  await context.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
}
