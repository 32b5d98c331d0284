/**
 * Upload and session errors as a clinician meets them in headless Chromium against a real server: a rejected
 * upload must show the server's error, not hang.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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
