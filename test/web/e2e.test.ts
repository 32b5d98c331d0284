/**
 * End-to-end test of the web application in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core) against a real server on loopback. It signs in, uploads a real CT case, runs the job,
 * scrolls, changes the window, toggles overlays, switches language and downloads the report. Screenshots go
 * to test-artifacts/web/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { BUNDLED_MODELS_DIR } from '../../src/diagnose/models-folder.ts';
import type { DiagnosisReport } from '../../src/diagnose/report-types.ts';
import { writeUntrainedModels } from '../diagnose/helpers/untrained-models.ts';
import { REPOSITORY_ROOT, sharedPath } from '../helpers/shared.ts';
import { ADMIN, startTestServer, type TestServer } from '../server/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPOSITORY_ROOT, 'test-artifacts', 'web');
const CASE_01 = sharedPath('data', 'real-ct', 'cases', 'case-01');
const CASE_02 = sharedPath('data', 'real-ct', 'cases', 'case-02');

let server: TestServer;
let context: BrowserContext;
let profile: string;
let modelsDir = '';

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  if (existsSync(join(BUNDLED_MODELS_DIR, 'detector.onnx'))) {
    // The bundled demo models find lesions on case-01, so boxes, heatmaps and the demo warning all show.
    server = await startTestServer();
  } else {
    // Without them: real models with seeded initial weights. Every stage runs, but they find no lesion.
    modelsDir = await mkdtemp(join(tmpdir(), 'lilnet-e2e-models-'));
    writeUntrainedModels(modelsDir);
    server = await startTestServer({ modelsDir });
  }
  profile = await mkdtemp(join(tmpdir(), 'lilnet-chromium-'));
  // A fresh profile folder per run: playwright passes it to Chromium as --user-data-dir.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
    acceptDownloads: true,
    viewport: { width: 1500, height: 1000 },
    locale: 'en-GB',
  });
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function viewerState(
  page: Page,
): Promise<{ slice: number; window: string; rendered: string; boxes: string }> {
  return page.evaluate(() => {
    const viewer = document.querySelector<HTMLElement>('[data-testid="viewer"]')!;
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="slice-canvas"]')!;
    return {
      slice: Number(viewer.dataset.slice),
      window: viewer.dataset.window ?? '',
      rendered: canvas.dataset.rendered ?? '',
      boxes: canvas.dataset.boxes ?? '',
    };
  });
}

async function waitRendered(page: Page, slice: number): Promise<void> {
  await page.waitForFunction(
    (z) =>
      (
        document.querySelector<HTMLCanvasElement>('[data-testid="slice-canvas"]')?.dataset.rendered ?? ''
      ).endsWith(`:${z}`),
    slice,
    { timeout: 20_000 },
  );
}

test('clinician workflow in Chromium', { timeout: 600_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install the Debian chromium package`);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // Failed requests are checked through their responses below.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      pageErrors.push(message.text());
  });
  const failedResponses: string[] = [];
  page.on('response', (response) => {
    if (response.status() >= 400)
      failedResponses.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  const foreignRequests: string[] = [];
  page.on('request', (request) => {
    if (
      !request.url().startsWith(server.url) &&
      !request.url().startsWith('blob:') &&
      !request.url().startsWith('data:')
    ) {
      foreignRequests.push(request.url());
    }
  });

  // Sign in: a wrong password first, then the right one.
  await page.goto(server.url);
  await page.getByTestId('login-name').fill(ADMIN.name);
  await page.getByTestId('login-password').fill('not the password');
  await page.getByTestId('login-submit').click();
  await page.getByRole('alert').waitFor();
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('case-label').waitFor();

  // Create a case; upload case-02 as the arterial phase and case-01 as the portal venous phase.
  await page.getByTestId('case-label').fill('E2E liver case');
  await page.getByTestId('create-case').click();
  for (const [phase, folder, count] of [
    ['AP', CASE_02, 47],
    ['PVP', CASE_01, 59],
  ] as const) {
    await page.getByTestId('upload-files').waitFor();
    const files = (await readdir(folder)).map((name) => join(folder, name));
    await page.getByTestId('upload-phase').selectOption(phase);
    await page.getByTestId('upload-files').setInputFiles(files);
    await page.getByTestId('upload-submit').click();
    await page.getByText(`Uploaded ${count} files`).waitFor({ timeout: 60_000 });
  }

  // Run the diagnosis job and wait for it.
  await page.getByTestId('start-diagnose').click();
  await page.waitForFunction(
    () => {
      const status = document.querySelector<HTMLElement>('[data-testid="job-status"]')?.dataset.status;
      return status === 'succeeded' || status === 'failed';
    },
    undefined,
    { timeout: 480_000, polling: 500 },
  );
  await shot(page, '01-after-job');
  const jobStatus = await page.getByTestId('job-status').getAttribute('data-status');
  assert.equal(jobStatus, 'succeeded', await page.getByTestId('job-status').innerText());

  // Show the portal venous series: position 29 of 59 (the middle of either series, kept on switching).
  await page.locator('[data-testid^="phase-PVP-"]').click();
  await waitRendered(page, 29);
  const start = await viewerState(page);
  assert.equal(start.slice, 29);

  // Scroll with the wheel, the keys and the slider.
  const canvas = page.getByTestId('slice-canvas');
  await canvas.hover();
  for (let i = 0; i < 5; i += 1) await page.mouse.wheel(0, 100);
  await waitRendered(page, 34);
  await canvas.focus();
  await page.keyboard.press('ArrowUp');
  await waitRendered(page, 33);
  await page.keyboard.press('End');
  await waitRendered(page, 58);
  await page.getByTestId('slice-slider').fill('20');
  await waitRendered(page, 20);
  await shot(page, '02-scrolled');

  // Change the window by dragging (grey-level images have no HU presets) and with the full-range button.
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 80, box.y + box.height / 2 - 60, { steps: 5 });
  await page.mouse.up();
  const dragged = await viewerState(page);
  assert.notEqual(dragged.window, start.window);
  const [width, centre] = dragged.window.split('/').map(Number);
  assert.ok(width < 255, `the drag narrowed the window to ${width}`);
  assert.ok(centre > 127.5, `the drag raised the level to ${centre}`);
  assert.equal(await page.getByTestId('preset-liver').isDisabled(), true);
  await shot(page, '03-window');
  await page.getByTestId('preset-full').click();
  assert.notEqual((await viewerState(page)).window, dragged.window);
  await page.getByTestId('zoom-in').click();
  await page.getByTestId('zoom-in').click();
  await shot(page, '04-zoomed');
  await page.getByTestId('zoom-fit').click();

  // Switch to the arterial phase (47 slices, no positions in JPEG slices): the relative position is kept.
  const pvpSlice = (await viewerState(page)).slice;
  await page.locator('[data-testid^="phase-AP-"]').click();
  const apSlice = Math.round((pvpSlice / 58) * 46);
  await waitRendered(page, apSlice);
  assert.equal((await viewerState(page)).slice, apSlice);
  await shot(page, '05-arterial');
  await page.locator('[data-testid^="phase-PVP-"]').click();
  await waitRendered(page, pvpSlice);

  // Overlays: the boxes drawn must be the report's boxes of the slice on screen, and both toggles must work.
  const caseId = page.url().split('/').pop()!;
  const report = (await (
    await context.request.get(`${server.url}/api/cases/${caseId}/report`)
  ).json()) as DiagnosisReport;
  const lesion = page.locator('[data-testid^="lesion-"]').first();
  if ((await lesion.count()) > 0) await lesion.getByRole('button').click();
  const overlaySlice = (await viewerState(page)).slice;
  const seriesKey = await page.getByTestId('viewer').getAttribute('data-series-key');
  const phasesOnScreen = report.lesions.flatMap((l) => l.phases).filter((p) => p.seriesId === seriesKey);
  const boxesOnSlice = (z: number) =>
    phasesOnScreen.flatMap((p) => p.boxes).filter((b) => b.sliceIndex === z).length;
  await waitRendered(page, overlaySlice);
  assert.equal(Number((await viewerState(page)).boxes), boxesOnSlice(overlaySlice));
  const heatmapsOnSlice = phasesOnScreen.filter((p) =>
    p.overlays.some((o) => o.sliceIndex === overlaySlice && o.heatmap),
  ).length;
  await page.getByTestId('toggle-heatmap').check();
  if (heatmapsOnSlice > 0) {
    // Heatmap overlays are whole slice images, so the viewer shows one at a time.
    await page.waitForFunction(
      () =>
        Number(document.querySelector<HTMLElement>('[data-testid="slice-canvas"]')?.dataset.heatmaps) === 1,
      undefined,
      { timeout: 20_000 },
    );
  }
  assert.equal(
    Number((await viewerState(page)).boxes),
    boxesOnSlice(overlaySlice),
    'boxes stay visible over the heatmap',
  );
  await shot(page, '06-overlays-on');
  await page.getByTestId('toggle-boxes').uncheck();
  await page.getByTestId('toggle-heatmap').uncheck();
  assert.equal((await viewerState(page)).boxes, '0');
  await shot(page, '07-overlays-off');
  await page.getByTestId('toggle-boxes').check();
  assert.equal(Number((await viewerState(page)).boxes), boxesOnSlice(overlaySlice));
  if (report.lesions.length === 0)
    assert.ok(await page.getByText('No focal lesion detected.').first().isVisible());
  const demo = await page.getByTestId('demo-warning').count();
  assert.equal(
    demo > 0,
    report.demoModels,
    'the demo warning shows exactly when demo models made the result',
  );

  // Switch to Simplified Chinese and back.
  await page.getByTestId('language-select').selectOption('zh-CN');
  await page.getByText('AI 诊断结果').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  assert.match(
    await page.getByTestId('viewer-status').innerText(),
    new RegExp(`层面 ${overlaySlice + 1} / (47|59)`),
  );
  await shot(page, '08-chinese');
  await page.getByTestId('language-select').selectOption('en');
  await page.getByText('Diagnosis', { exact: true }).waitFor();

  // Download the report as JSON and HTML.
  const [jsonDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-json').click(),
  ]);
  const jsonPath = join(ARTIFACTS, 'report.json');
  await jsonDownload.saveAs(jsonPath);
  const downloaded = JSON.parse(await readFile(jsonPath, 'utf8'));
  assert.equal(downloaded.schemaVersion, report.schemaVersion);
  assert.equal(downloaded.lesions.length, report.lesions.length);
  const [htmlDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-html').click(),
  ]);
  const htmlPath = join(ARTIFACTS, 'report.html');
  await htmlDownload.saveAs(htmlPath);
  assert.match(await readFile(htmlPath, 'utf8'), /<html/i);

  // Print / PDF loads the HTML report into a hidden frame and calls the browser's print.
  await page.getByTestId('print-report').click();
  const printFrame = page.frameLocator('iframe.print-frame');
  await printFrame.locator('body').waitFor({ state: 'attached', timeout: 20_000 });
  assert.match((await page.locator('iframe.print-frame').getAttribute('src')) ?? '', /\/report\.html$/);

  // Back to the list: the case is there with its finished job.
  await page.getByTestId('back-to-cases').click();
  await page.getByTestId('case-row').first().waitFor();
  await shot(page, '09-case-list');

  assert.deepEqual(foreignRequests, [], 'the application contacts no other host');
  assert.deepEqual(pageErrors, [], 'no script errors in the page');
  assert.deepEqual(failedResponses, ['401 /api/auth/login'], 'only the wrong password failed');
});
