/**
 * Upload and session errors as a clinician meets them in headless Chromium against a real server: a rejected
 * upload shows the server's error, an ended session leads back to sign-in, and a double click starts one job.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { sharedPath } from '../helpers/shared.ts';
import { ADMIN, startTestServer, type TestServer } from '../server/helpers.ts';

let server: TestServer;
let context: BrowserContext;
let profile: string;
let files: string;

before(async () => {
  server = await startTestServer();
  profile = await mkdtemp(join(tmpdir(), 'lilnet-chromium-'));
  files = await mkdtemp(join(tmpdir(), 'lilnet-upload-files-'));
  context = await chromium.launchPersistentContext(profile, {
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
    viewport: { width: 1280, height: 720 },
    locale: 'en-GB',
  });
});

after(async () => {
  await context?.close();
  await server?.stop();
  for (const folder of [profile, files]) if (folder) await rm(folder, { recursive: true, force: true });
});

async function signInAndCreateCase(page: Page, label: string): Promise<void> {
  await context.clearCookies();
  await page.goto(server.url);
  await page.getByTestId('login-name').fill(ADMIN.name);
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('case-label').fill(label);
  await page.getByTestId('create-case').click();
  await page.getByTestId('case-title').waitFor();
}

test('rejected upload shows the error', { timeout: 120_000 }, async () => {
  // The server rejects the PDF, the first file, while the browser still has megabytes of the request to send.
  const pdf = join(files, 'referral.pdf');
  await writeFile(pdf, '%PDF-1.4\n% not an image\n');
  const large = [];
  for (let i = 0; i < 4; i++) {
    const path = join(files, `slice-${i}.png`);
    await writeFile(path, Buffer.alloc(4 * 1024 * 1024, i));
    large.push(path);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'rejected upload');
  await page.getByTestId('upload-files').setInputFiles([pdf, ...large]);
  await page.getByTestId('upload-submit').click();
  const status = page.getByTestId('upload-status');
  await page.getByText('Upload failed').waitFor({ timeout: 60_000 });
  assert.match((await status.textContent()) ?? '', /referral\.pdf/);
  const detail = await page.evaluate(async () => (await fetch(location.hash.replace('#', '/api'))).json());
  assert.equal(detail.uploads.length, 0);
});

/** Returns the paths of all files under `folder`. */
async function listFiles(folder: string): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) paths.push(...(await listFiles(path)));
    else paths.push(path);
  }
  return paths;
}

async function uploadSmallCt(page: Page): Promise<void> {
  await page.getByTestId('upload-files').setInputFiles(sharedPath('fixtures', 'dicom', 'CT_small.dcm'));
  await page.getByTestId('upload-submit').click();
  await page.getByText('Uploaded 1 files').waitFor({ timeout: 30_000 });
}

test('sign-out in another tab ends the session', { timeout: 120_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'signed out elsewhere');
  const caseHash = new URL(page.url()).hash;
  await uploadSmallCt(page);

  const other = await context.newPage();
  await other.goto(server.url);
  await other.getByTestId('sign-out').click();
  await other.getByTestId('login-name').waitFor();

  await page.getByTestId('start-ingest').click();
  await page.getByText('Your session has ended').waitFor({ timeout: 20_000 });
  await page.getByTestId('login-name').fill(ADMIN.name);
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('case-title').waitFor();
  assert.equal(new URL(page.url()).hash, caseHash);
  await other.close();
});

test('sign-in in another tab keeps actions working', { timeout: 120_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'signed in again elsewhere');
  await uploadSmallCt(page);

  // The other tab signs out and in again, which replaces the session and its CSRF token.
  const other = await context.newPage();
  await other.goto(server.url);
  await other.getByTestId('sign-out').click();
  await other.getByTestId('login-name').fill(ADMIN.name);
  await other.getByTestId('login-password').fill(ADMIN.password);
  await other.getByTestId('login-submit').click();
  await other.getByTestId('case-label').waitFor();
  await other.close();

  await page.getByTestId('start-ingest').click();
  await page.waitForFunction(
    () => document.querySelector<HTMLElement>('[data-testid="job-status"]')?.dataset.status === 'succeeded',
    null,
    {
      timeout: 60_000,
    },
  );
  assert.equal(await page.getByRole('alert').count(), 0);
  assert.doesNotMatch((await page.getByTestId('upload-status').textContent()) ?? '', /failed/i);
});

test('double click on Analyse starts one job', { timeout: 120_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'double click');
  await uploadSmallCt(page);
  const jobRequests: number[] = [];
  page.on('response', (response) => {
    if (response.url().endsWith('/jobs') && response.request().method() === 'POST')
      jobRequests.push(response.status());
  });
  await page.getByTestId('start-ingest').dblclick();
  await page.waitForFunction(
    () => document.querySelector<HTMLElement>('[data-testid="job-status"]')?.dataset.status === 'succeeded',
    null,
    {
      timeout: 60_000,
    },
  );
  assert.deepEqual(jobRequests, [202]);
  assert.doesNotMatch((await page.getByTestId('upload-status').textContent()) ?? '', /failed/i);
});

test('folder of series with shared file names', { timeout: 120_000 }, async () => {
  // Like a DICOM export: every series folder has the same file names, and the folder is named after the patient.
  const series = sharedPath('fixtures', 'dicom', 'ct-series-5-slices');
  const study = join(files, 'DOE_JANE_12345');
  for (const folder of ['SE1', 'SE2']) {
    await mkdir(join(study, folder), { recursive: true });
    for (const name of await readdir(series)) await copyFile(join(series, name), join(study, folder, name));
  }
  await writeFile(join(study, '.DS_Store'), Buffer.alloc(64));
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'folder upload');
  await page.getByTestId('upload-folder').setInputFiles(study);
  await page.getByTestId('upload-submit').click();
  await page.getByText('Uploaded 10 files').waitFor({ timeout: 30_000 });
  const caseId = new URL(page.url()).hash.split('/').pop()!;
  const stored = await listFiles(join(server.dataDir, 'cases', caseId, 'files'));
  assert.equal(stored.length, 10);
  assert.deepEqual(
    stored.filter((path) => path.includes('DOE_JANE')),
    [],
  );
  assert.equal(stored.filter((path) => path.includes('/series-1/')).length, 5);
  assert.equal(stored.filter((path) => path.includes('/series-2/')).length, 5);
});

test('upload error in Chinese and English', { timeout: 120_000 }, async () => {
  const pdf = join(files, 'scan.pdf');
  await writeFile(pdf, '%PDF-1.4\n% not an image\n');
  const page = context.pages()[0] ?? (await context.newPage());
  await signInAndCreateCase(page, 'error languages');
  await page.getByTestId('language-select').selectOption('zh-CN');
  await page.getByTestId('upload-files').setInputFiles(pdf);
  await page.getByTestId('upload-submit').click();
  const status = page.getByTestId('upload-status');
  await page.getByText('上传失败').waitFor({ timeout: 30_000 });
  const chinese = (await status.textContent()) ?? '';
  assert.match(chinese, /文件无法接受/);
  assert.match(chinese, /scan\.pdf/);

  await page.getByTestId('language-select').selectOption('en');
  const english = (await page.getByTestId('upload-status').textContent()) ?? '';
  assert.match(english, /^Upload failed: file "scan\.pdf" is not DICOM/);
  assert.doesNotMatch(english, /文件/);
});
