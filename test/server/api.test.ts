/**
 * API tests against a real server on loopback: authentication, CSRF, cases, uploads (DICOM, zip, slice images,
 * oversized and bad files), ingest jobs with the real imaging reader, slices, reports and the audit log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { zipSync } from 'fflate';
import { BUNDLED_MODELS_DIR } from '../../src/diagnose/models-folder.ts';
import { writeUntrainedModels } from '../diagnose/helpers/untrained-models.ts';
import { sharedPath } from '../helpers/shared.ts';
import { ADMIN, ApiClient, filesForm, startTestServer, type TestServer } from './helpers.ts';
import { REPORT_SCHEMA_VERSION } from '../../src/diagnose/report-types.ts';

const CASE_01 = sharedPath('data', 'real-ct', 'cases', 'case-01');
const CT_SERIES = sharedPath('fixtures', 'dicom', 'ct-series-5-slices');

async function readFolder(folder: string, limit = Infinity): Promise<[string, Uint8Array][]> {
  const names = (await readdir(folder))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .slice(0, limit);
  return Promise.all(
    names.map(async (name) => [name, await readFile(join(folder, name))] as [string, Uint8Array]),
  );
}

/** Builds a NIfTI-1 file (.nii) of int16 values, columns x rows x slices, with 0.8 x 0.8 x 2.5 mm voxels. */
function niftiFile(
  columns: number,
  rows: number,
  slices: number,
  value: (x: number, y: number, z: number) => number,
): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  [3, columns, rows, slices, 1, 1, 1, 1].forEach((size, i) => header.writeInt16LE(size, 40 + 2 * i));
  header.writeInt16LE(4, 70); // datatype: signed 16-bit integer
  header.writeInt16LE(16, 72); // bits per voxel
  [1, 0.8, 0.8, 2.5, 1, 1, 1, 1].forEach((size, i) => header.writeFloatLE(size, 76 + 4 * i));
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope
  header.writeUInt8(2, 123); // xyzt_units: millimetres
  header.write('n+1\0', 344, 'latin1');
  const data = Buffer.alloc(columns * rows * slices * 2);
  for (let z = 0; z < slices; z += 1) {
    for (let y = 0; y < rows; y += 1) {
      for (let x = 0; x < columns; x += 1)
        data.writeInt16LE(value(x, y, z), 2 * (x + columns * (y + rows * z)));
    }
  }
  return Buffer.concat([header, data]);
}

describe('server API', () => {
  let server: TestServer;
  let client: ApiClient;
  let modelsDir: string;

  before(async () => {
    // Real models of the diagnosis pipeline with seeded initial weights: their calls mean nothing, but every
    // stage, file and report field is produced for real.
    modelsDir = mkdtempSync(join(tmpdir(), 'lilnet-server-models-'));
    writeUntrainedModels(modelsDir);
    server = await startTestServer({
      modelsDir,
      limits: {
        maxFileBytes: 200_000,
        maxFilesPerRequest: 80,
        maxRequestBytes: 12_000_000,
        maxZipEntries: 100,
      },
    });
    client = new ApiClient(server.url);
  });
  after(async () => {
    await server.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  });

  async function newCase(label = 'test case'): Promise<string> {
    const response = await client.request('POST', '/api/cases', { json: { label } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body.id;
  }

  test('health and OpenAPI are public', async () => {
    const anonymous = new ApiClient(server.url);
    const health = await anonymous.request('GET', '/api/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.schemaVersion, 1);
    const docs = await anonymous.request('GET', '/docs/json');
    assert.equal(docs.status, 200);
    for (const path of [
      '/api/cases',
      '/api/cases/{caseId}/uploads',
      '/api/jobs/{jobId}',
      '/api/cases/{caseId}/report',
    ]) {
      assert.ok(docs.body.paths[path], `OpenAPI lists ${path}`);
    }
  });

  test('unauthenticated requests are rejected', async () => {
    const anonymous = new ApiClient(server.url);
    for (const [method, path] of [
      ['GET', '/api/cases'],
      ['POST', '/api/cases'],
      ['GET', '/api/jobs/00000000-0000-4000-8000-000000000000'],
    ]) {
      const response = await anonymous.request(
        method,
        path,
        method === 'POST' ? { json: { label: 'x' } } : {},
      );
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.equal(response.body.error.code, 'UNAUTHENTICATED');
    }
    const noSession = await anonymous.request('GET', '/api/auth/session');
    assert.equal(noSession.status, 200);
    assert.equal(noSession.body.user, null);
    const forged = new ApiClient(server.url);
    forged.cookie = 'lilnet_session=not-a-session';
    assert.equal((await forged.request('GET', '/api/cases')).status, 401);
  });

  test('login sets a strict httpOnly cookie', async () => {
    const wrong = await new ApiClient(server.url).login(ADMIN.name, 'wrong password!');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'LOGIN_FAILED');
    const unknown = await new ApiClient(server.url).login('nobody', 'whatever123');
    assert.equal(unknown.status, 401);

    const response = await client.login();
    assert.equal(response.status, 200);
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /lilnet_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\//);
    assert.equal(typeof response.body.csrfToken, 'string');
    const session = await client.request('GET', '/api/auth/session');
    assert.equal(session.body.user.name, ADMIN.name);
    assert.equal(session.body.csrfToken, client.csrfToken);
  });

  test('state-changing requests need the CSRF token', async () => {
    const missing = await client.request('POST', '/api/cases', { json: { label: 'x' }, csrf: false });
    assert.equal(missing.status, 403);
    assert.equal(missing.body.error.code, 'CSRF_REJECTED');
    const wrong = await client.request('POST', '/api/cases', {
      json: { label: 'x' },
      csrf: false,
      headers: { 'x-csrf-token': 'A'.repeat(43) },
    });
    assert.equal(wrong.status, 403);
  });

  test('cross-site requests are rejected', async () => {
    const crossOrigin = await client.request('POST', '/api/cases', {
      json: { label: 'x' },
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(crossOrigin.status, 403);
    assert.match(crossOrigin.body.error.message, /evil\.example/);
    const crossSite = await client.request('POST', '/api/cases', {
      json: { label: 'x' },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.status, 403);
    const loginCsrf = await new ApiClient(server.url).request('POST', '/api/auth/login', {
      json: ADMIN,
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(loginCsrf.status, 403);
    const sameOrigin = await client.request('POST', '/api/cases', {
      json: { label: 'same origin' },
      headers: { origin: server.url, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(sameOrigin.status, 201);
  });

  test('case create, list, read and delete', async () => {
    const invalid = await client.request('POST', '/api/cases', { json: { label: '' } });
    assert.equal(invalid.status, 400);
    const caseId = await newCase('liver follow-up A');
    const list = await client.request('GET', '/api/cases');
    assert.ok(list.body.cases.some((c: { id: string }) => c.id === caseId));
    const read = await client.request('GET', `/api/cases/${caseId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.label, 'liver follow-up A');
    assert.deepEqual(read.body.series, []);
    const removed = await client.request('DELETE', `/api/cases/${caseId}`);
    assert.equal(removed.status, 204);
    assert.equal((await client.request('GET', `/api/cases/${caseId}`)).status, 404);
    assert.equal(existsSync(join(server.dataDir, 'cases', caseId)), false);
    const missing = await client.request('DELETE', `/api/cases/${caseId}`);
    assert.equal(missing.status, 404);
    assert.equal((await client.request('GET', '/api/cases/not-a-uuid')).status, 400);
  });

  test('bad file is rejected, nothing stored', async () => {
    const caseId = await newCase();
    const [first] = await readFolder(CASE_01, 1);
    const response = await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, {
      form: filesForm([first, ['notes.txt', Buffer.from('patient notes, not an image')]]),
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'UPLOAD_INVALID');
    assert.match(response.body.error.message, /notes\.txt/);
    const detail = await client.request('GET', `/api/cases/${caseId}`);
    assert.deepEqual(detail.body.uploads, []);
    assert.deepEqual(await readdir(join(server.dataDir, 'cases', caseId, 'files')), []);
    assert.deepEqual(await readdir(join(server.dataDir, 'staging')), []);
    const badPhase = await client.request('POST', `/api/cases/${caseId}/uploads?phase=XX`, {
      form: filesForm([first]),
    });
    assert.equal(badPhase.status, 400);
    const notMultipart = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      json: { files: [] },
    });
    assert.equal(notMultipart.status, 400);
  });

  test('oversized uploads get 413', async () => {
    const caseId = await newCase();
    const big = Buffer.alloc(300_000);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    const tooLarge = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([['big.png', big]]),
    });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'UPLOAD_TOO_LARGE');
    assert.match(tooLarge.body.error.message, /big\.png/);
    assert.match(tooLarge.body.error.message, /200000 bytes/);

    const [first] = await readFolder(CASE_01, 1);
    const many = Array.from({ length: 81 }, (_, i) => [`${i}.jpg`, first[1]] as [string, Uint8Array]);
    const tooMany = await client.request('POST', `/api/cases/${caseId}/uploads`, { form: filesForm(many) });
    assert.equal(tooMany.status, 413);
    assert.match(tooMany.body.error.message, /more files/);

    const bomb = zipSync({ 'a.png': new Uint8Array(250_000) });
    const zipTooLarge = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([['bomb.zip', bomb]]),
    });
    assert.equal(zipTooLarge.status, 413);
    const detail = await client.request('GET', `/api/cases/${caseId}`);
    assert.deepEqual(detail.body.uploads, []);
  });

  test('zip entries cannot escape the folder', async () => {
    const caseId = await newCase();
    const [first] = await readFolder(CASE_01, 1);
    for (const entry of [
      '../escape.jpg',
      'a/../../escape.jpg',
      '/abs/escape.jpg',
      'C:/escape.jpg',
      '..\\escape.jpg',
    ]) {
      const zip = zipSync({ 'ok.jpg': first[1], [entry]: first[1] });
      const response = await client.request('POST', `/api/cases/${caseId}/uploads`, {
        form: filesForm([['case.zip', zip]]),
      });
      assert.equal(response.status, 400, entry);
      assert.equal(response.body.error.code, 'UPLOAD_INVALID', entry);
      assert.match(response.body.error.message, /points outside the upload folder/, entry);
    }
    assert.equal(existsSync(join(server.dataDir, 'escape.jpg')), false);
    assert.equal(existsSync(join(server.dataDir, 'cases', 'escape.jpg')), false);
    for (const name of ['../x.jpg', 'a/../../x.jpg', '/abs/x.jpg', 'C:\\x.jpg', 'a/./../x.jpg']) {
      const badName = await client.request('POST', `/api/cases/${caseId}/uploads`, {
        form: filesForm([
          ['ok.jpg', first[1]],
          [name, first[1]],
        ]),
      });
      assert.equal(badName.status, 400, name);
      assert.equal(badName.body.error.code, 'UPLOAD_INVALID', name);
      assert.match(badName.body.error.message, /invalid file name/, name);
    }
    assert.equal(existsSync(join(server.dataDir, 'cases', caseId, 'x.jpg')), false);
    assert.equal(existsSync(join(server.dataDir, 'cases', 'x.jpg')), false);
  });

  test('zip lying about its sizes is rejected', async () => {
    const caseId = await newCase('lying zip');
    const [first] = await readFolder(CASE_01, 1);
    const zip = zipSync({ 'slice.jpg': first[1] });
    // Declare 100 bytes unpacked in the local header and in the central directory.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    view.setUint32(22, 100, true);
    let entry = -1;
    for (let i = zip.byteLength - 22; i >= 0; i--) {
      if (view.getUint32(i, true) === 0x02014b50) {
        entry = i;
        break;
      }
    }
    assert.ok(entry > 0);
    view.setUint32(entry + 24, 100, true);
    const response = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([['lying.zip', zip]]),
    });
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.error.code, 'UPLOAD_INVALID');
    assert.match(response.body.error.message, /slice\.jpg" is damaged or declares a wrong size/);
    const detail = await client.request('GET', `/api/cases/${caseId}`);
    assert.deepEqual(detail.body.uploads, []);
  });

  test('zip names in UTF-8 and legacy encodings', async () => {
    const caseId = await newCase('zip names');
    const [first, second] = await readFolder(CASE_01, 2);
    const zip = zipSync({ '层面-1.jpg': first[1], 'Ã©-2.jpg': second[1] });
    // Clear the UTF-8 flag of the second entry, as zips made on older Windows do, in both of its headers.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    const headers: number[] = [];
    for (let i = 0; i + 4 <= zip.byteLength; i++) {
      const signature = view.getUint32(i, true);
      if (signature === 0x04034b50) headers.push(i + 6);
      if (signature === 0x02014b50) headers.push(i + 8);
    }
    for (const flagsAt of [headers[1], headers[3]])
      view.setUint16(flagsAt, view.getUint16(flagsAt, true) & ~0x800, true);
    const response = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([['names.zip', zip]]),
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.fileCount, 2);
  });

  test('unknown path gets the error format', async () => {
    const response = await client.request('GET', '/api/no-such-endpoint?x=1');
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'NOT_FOUND');
    assert.equal(response.body.error.message, 'no endpoint GET /api/no-such-endpoint');
    assert.equal(response.body.error.hint, 'see the API document at /docs/json');
  });

  test('folder upload keeps series folders apart', async () => {
    const caseId = await newCase('folders');
    const [first, second] = await readFolder(CASE_01, 2);
    const form = filesForm([
      ['series-1/IM00001.jpg', first[1]],
      ['series-2/IM00001.jpg', second[1]],
      ['series-2/.DS_Store', new Uint8Array(16)],
      ['__MACOSX/._IM00001.jpg', new Uint8Array(16)],
    ]);
    const upload = await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, { form });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.fileCount, 2);
    const duplicate = await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, {
      form: filesForm([
        ['series-1/IM00001.jpg', first[1]],
        ['series-1/IM00001.jpg', second[1]],
      ]),
    });
    assert.equal(duplicate.status, 400);
    assert.match(duplicate.body.error.message, /series-1\/IM00001\.jpg/);
  });

  test('DICOM zip ingests in Hounsfield units', async () => {
    const caseId = await newCase('dicom');
    const files = await readFolder(CT_SERIES);
    const zip = zipSync({
      'study/series': {},
      ...Object.fromEntries(files.map(([n, b]) => [`study/series/${n}`, b])),
      '__MACOSX/._x': new Uint8Array(4),
    });
    const upload = await client.request('POST', `/api/cases/${caseId}/uploads?phase=AP`, {
      form: filesForm([['ct.zip', zip]]),
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.fileCount, 5);
    assert.deepEqual(upload.body.kinds, { dicom: 5 });

    const start = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'ingest' } });
    assert.equal(start.status, 202);
    const job = await client.waitForJob(start.body.id);
    assert.equal(job.status, 'succeeded', job.error);

    const series = (await client.request('GET', `/api/cases/${caseId}/series`)).body.series;
    assert.equal(series.length, 1);
    assert.equal(series[0].unit, 'HU');
    assert.equal(series[0].voxelType, 'int16');
    assert.equal(series[0].phase, 'AP');
    assert.equal(series[0].phaseSource, 'user');
    assert.deepEqual(series[0].geometry.dimensions, [16, 16, 5]);
    const slice = await client.request('GET', `/api/cases/${caseId}/series/${series[0].id}/slices/0`);
    assert.equal(slice.status, 200);
    assert.equal(slice.headers.get('x-voxel-type'), 'int16');
    assert.equal(slice.bytes.length, 16 * 16 * 2);
    const values = new Int16Array(slice.bytes.buffer, slice.bytes.byteOffset, 256);
    assert.ok(Math.min(...values) >= -1100, 'no value below air');
    assert.ok(Math.max(...values) <= 4000, 'no value above dense bone and metal');
  });

  test('NIfTI upload ingests as HU', async () => {
    const caseId = await newCase('nifti');
    // Air in the first row, soft tissue elsewhere, 100 HU more on every slice so each slice has its own sum.
    const value = (_x: number, y: number, z: number) => (y === 0 ? -1000 : 40 + 100 * z);
    const nifti = niftiFile(8, 6, 3, value);
    const upload = await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, {
      form: filesForm([['volume.nii', nifti]]),
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.deepEqual(upload.body.kinds, { nifti: 1 });
    const job = await client.waitForJob(
      (await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'ingest' } })).body.id,
    );
    assert.equal(job.status, 'succeeded', job.error);
    const [series] = (await client.request('GET', `/api/cases/${caseId}/series`)).body.series;
    assert.equal(series.unit, 'HU');
    assert.equal(series.voxelType, 'int16');
    assert.equal(series.phase, 'PVP');
    assert.deepEqual(series.geometry.dimensions, [8, 6, 3]);
    const sums: number[] = [];
    for (let z = 0; z < 3; z += 1) {
      const slice = await client.request('GET', `/api/cases/${caseId}/series/${series.id}/slices/${z}`);
      const values = new Int16Array(slice.bytes.buffer, slice.bytes.byteOffset, 48);
      sums.push(values.reduce((sum, v) => sum + v, 0));
    }
    // The reader may reorient the volume, so compare the slice sums as a set.
    const expected = [0, 1, 2].map((z) => 8 * -1000 + 40 * (40 + 100 * z));
    assert.deepEqual(
      [...sums].sort((a, b) => a - b),
      expected,
    );

    const truncated = nifti.subarray(0, 300);
    const bad = await client.request('POST', `/api/cases/${caseId}/uploads`, {
      form: filesForm([['broken.nii', truncated]]),
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /broken\.nii/);
  });

  test('slice images ingest and slices match the JPEG', async () => {
    const caseId = await newCase('case-01');
    const files = await readFolder(CASE_01);
    const upload = await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, {
      form: filesForm(files),
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.fileCount, 59);
    assert.equal(upload.body.phase, 'PVP');

    const conflictFree = await client.request('POST', `/api/cases/${caseId}/jobs`, {
      json: { kind: 'ingest' },
    });
    assert.equal(conflictFree.status, 202);
    const second = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'ingest' } });
    assert.equal(second.status, 409);
    const busyDelete = await client.request('DELETE', `/api/cases/${caseId}`);
    assert.ok(busyDelete.status === 409 || busyDelete.status === 204);
    if (busyDelete.status === 204) return;
    const job = await client.waitForJob(conflictFree.body.id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(job.progress, 1);

    const jobList = await client.request('GET', `/api/cases/${caseId}/jobs`);
    assert.equal(jobList.status, 200);
    assert.deepEqual(
      jobList.body.jobs.map((j: { id: string }) => j.id),
      [job.id],
    );
    const result = await client.request('GET', `/api/jobs/${job.id}/result`);
    assert.equal(result.status, 200);
    assert.equal(result.body.kind, 'ingest');
    const [series] = result.body.series;
    assert.deepEqual(series.geometry.dimensions, [512, 512, 59]);
    assert.equal(series.unit, 'grey');
    assert.equal(series.voxelType, 'uint16');
    assert.equal(series.phase, 'PVP');

    for (const z of [0, 30, 58]) {
      const slice = await client.request('GET', `/api/cases/${caseId}/series/${series.id}/slices/${z}`);
      assert.equal(slice.status, 200);
      assert.equal(slice.headers.get('content-type'), 'application/octet-stream');
      assert.equal(slice.headers.get('x-content-type-options'), 'nosniff');
      const values = new Uint16Array(slice.bytes.buffer, slice.bytes.byteOffset, 512 * 512);
      const expected = await sharp(join(CASE_01, `${z}.jpg`))
        .greyscale()
        .raw()
        .toBuffer();
      let maxDifference = 0;
      for (let i = 0; i < expected.length; i += 1)
        maxDifference = Math.max(maxDifference, Math.abs(values[i] - expected[i]));
      assert.ok(maxDifference <= 1, `slice ${z} differs from ${z}.jpg by up to ${maxDifference} grey levels`);
    }
    const outOfRange = await client.request('GET', `/api/cases/${caseId}/series/${series.id}/slices/59`);
    assert.equal(outOfRange.status, 404);
    const otherSeries = await client.request(
      'GET',
      `/api/cases/${caseId}/series/00000000-0000-4000-8000-000000000000/slices/0`,
    );
    assert.equal(otherSeries.status, 404);
  });

  test('diagnose job stores and serves the report', async () => {
    const caseId = await newCase('diagnosed');
    const files = await readFolder(CASE_01);
    assert.equal(
      (await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, { form: filesForm(files) }))
        .status,
      201,
    );
    const start = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'diagnose' } });
    assert.equal(start.status, 202);
    const job = await client.waitForJob(start.body.id, 300_000);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(job.progress, 1);

    const report = await client.request('GET', `/api/cases/${caseId}/report`);
    assert.equal(report.status, 200);
    assert.equal(report.body.schemaVersion, REPORT_SCHEMA_VERSION);
    assert.deepEqual(report.body.case.phasesUsed, ['PVP']);
    assert.equal(report.body.models.length, 4);
    assert.equal(report.body.demoModels, false);
    assert.equal(report.headers.get('content-disposition'), null);
    const series = (await client.request('GET', `/api/cases/${caseId}/series`)).body.series;
    assert.deepEqual(
      report.body.case.series.map((s: { id: string }) => s.id),
      series.map((s: { seriesKey: string }) => s.seriesKey),
      'report series ids match the viewer series, so lesion boxes land on the right series',
    );

    const download = await client.request('GET', `/api/cases/${caseId}/report?download=true`);
    assert.match(
      download.headers.get('content-disposition') ?? '',
      /attachment; filename="lilnet-report-.*\.json"/,
    );
    const html = await client.request('GET', `/api/cases/${caseId}/report.html`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/);
    assert.doesNotMatch(html.headers.get('content-security-policy') ?? '', /script-src/);
    assert.match(html.body, /<html/i);

    const result = await client.request('GET', `/api/jobs/${job.id}/result`);
    assert.equal(result.body.kind, 'diagnose');
    assert.equal(result.body.report.createdAt, report.body.createdAt);
    const listed = (await client.request('GET', '/api/cases')).body.cases.find(
      (c: { id: string }) => c.id === caseId,
    );
    assert.equal(listed.hasResult, true);
    assert.equal(listed.demoModels, false);
    assert.equal(listed.latestJob.status, 'succeeded');

    for (const lesion of report.body.lesions) {
      for (const phase of lesion.phases) {
        for (const overlay of phase.overlays) {
          const name = overlay.boxes.split('/').pop();
          const png = await client.request('GET', `/api/cases/${caseId}/overlays/${name}`);
          assert.equal(png.status, 200, name);
          assert.equal(png.headers.get('content-type'), 'image/png');
        }
      }
    }
    const missing = await client.request('GET', `/api/cases/${caseId}/overlays/no-such-overlay.png`);
    assert.equal(missing.status, 404);
  });

  test('reports before a diagnosis are not found', async () => {
    const caseId = await newCase();
    for (const path of ['report', 'report.html', 'overlays/L1.png']) {
      const response = await client.request('GET', `/api/cases/${caseId}/${path}`);
      assert.equal(response.status, 404, path);
    }
    const badName = await client.request('GET', `/api/cases/${caseId}/overlays/..%2Freport.json`);
    assert.equal(badName.status, 400);
    const noUploads = await client.request('POST', `/api/cases/${caseId}/jobs`, {
      json: { kind: 'diagnose' },
    });
    assert.equal(noUploads.status, 409);
    const badKind = await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'train' } });
    assert.equal(badKind.status, 400);
  });

  test('accounts, roles and the audit log', async () => {
    const created = await client.request('POST', '/api/users', {
      json: { name: 'dr.li', password: 'clinician pass 1', role: 'clinician' },
    });
    assert.equal(created.status, 201);
    const duplicate = await client.request('POST', '/api/users', {
      json: { name: 'dr.li', password: 'clinician pass 1', role: 'clinician' },
    });
    assert.equal(duplicate.status, 409);
    const weak = await client.request('POST', '/api/users', {
      json: { name: 'dr.wang', password: 'short', role: 'clinician' },
    });
    assert.equal(weak.status, 400);

    const users = await client.request('GET', '/api/users');
    assert.equal(users.status, 200);
    assert.deepEqual(
      users.body.users.map((u: { name: string; role: string }) => `${u.name}:${u.role}`),
      ['admin:admin', 'dr.li:clinician'],
    );
    assert.equal(JSON.stringify(users.body).includes('scrypt'), false, 'password hashes are never sent');
    const clinician = new ApiClient(server.url);
    assert.equal((await clinician.login('dr.li', 'clinician pass 1')).status, 200);
    assert.equal((await clinician.request('GET', '/api/users')).status, 403);
    assert.equal((await clinician.request('GET', '/api/audit')).status, 403);
    const caseId = (await clinician.request('POST', '/api/cases', { json: { label: 'audited' } })).body.id;
    await clinician.request('GET', `/api/cases/${caseId}`);
    await clinician.request('GET', `/api/cases/${caseId}/series`);

    const audit = await client.request('GET', `/api/audit?caseId=${caseId}`);
    assert.equal(audit.status, 200);
    const actions = audit.body.entries.map(
      (e: { action: string; userName: string }) => `${e.userName}:${e.action}`,
    );
    assert.ok(actions.includes('dr.li:case-create'), actions.join());
    assert.ok(actions.includes('dr.li:case-read'), actions.join());
    assert.ok(actions.includes('dr.li:series-list'), actions.join());

    const logout = await clinician.request('POST', '/api/auth/logout');
    assert.equal(logout.status, 204);
    assert.equal((await clinician.request('GET', '/api/cases')).status, 401);
  });

  test('web application is served with a strict policy', async () => {
    const anonymous = new ApiClient(server.url);
    const page = await anonymous.request('GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/app.js">/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const script = await anonymous.request('GET', '/app.js');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.ok(script.bytes.length > 1000);
    assert.doesNotMatch(
      script.body,
      /https?:\/\/(?!www\.w3\.org)/,
      'the bundle loads nothing from other hosts',
    );
  });
});

describe('loopback host check', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.stop());

  /** Sends a GET with a chosen Host header (fetch does not allow setting it). */
  function getWithHost(path: string, host: string): Promise<number> {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
  }

  test('foreign host names are rejected', async () => {
    const { port } = new URL(server.url);
    assert.equal(await getWithHost('/api/health', `127.0.0.1:${port}`), 200);
    assert.equal(await getWithHost('/api/health', `localhost:${port}`), 200);
    assert.equal(await getWithHost('/', `localhost:${port}`), 200);
    assert.equal(await getWithHost('/api/health', `rebound.example:${port}`), 403);
    assert.equal(await getWithHost('/', `rebound.example:${port}`), 403);
  });
});

describe('diagnosis with the bundled demo models', () => {
  let server: TestServer;
  let client: ApiClient;
  before(async () => {
    server = await startTestServer();
    client = new ApiClient(server.url);
    await client.login();
  });
  after(async () => server.stop());

  test(
    'demo report flags and overlays',
    { skip: !existsSync(join(BUNDLED_MODELS_DIR, 'detector.onnx')) && 'no bundled models' },
    async () => {
      const caseId = (await client.request('POST', '/api/cases', { json: { label: 'demo' } })).body.id;
      const files = await readFolder(CASE_01);
      assert.equal(
        (await client.request('POST', `/api/cases/${caseId}/uploads?phase=PVP`, { form: filesForm(files) }))
          .status,
        201,
      );
      const job = await client.waitForJob(
        (await client.request('POST', `/api/cases/${caseId}/jobs`, { json: { kind: 'diagnose' } })).body.id,
        300_000,
      );
      assert.equal(job.status, 'succeeded', job.error);
      const report = (await client.request('GET', `/api/cases/${caseId}/report`)).body;
      assert.equal(report.demoModels, true);
      const listed = (await client.request('GET', '/api/cases')).body.cases.find(
        (c: { id: string }) => c.id === caseId,
      );
      assert.equal(listed.demoModels, true);
      const overlayNames = report.lesions
        .flatMap((lesion: any) => lesion.phases)
        .flatMap((phase: any) => phase.overlays)
        .flatMap((overlay: any) => [overlay.boxes, overlay.heatmap].filter(Boolean))
        .map((path: string) => path.split('/').pop());
      for (const name of new Set<string>(overlayNames)) {
        const png = await client.request('GET', `/api/cases/${caseId}/overlays/${name}`);
        assert.equal(png.status, 200, name);
        assert.equal(png.headers.get('content-type'), 'image/png');
        assert.deepEqual([...png.bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name} is a PNG`);
      }
    },
  );
});
