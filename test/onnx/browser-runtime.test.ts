/**
 * The exported ONNX file in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) loads onnxruntime-web's WebAssembly build and the model from a server on loopback, runs it,
 * and must return what onnxruntime-node returns for the same file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { exportLilnetOnnx } from '../../src/backends/onnx/export-model.ts';
import { OnnxInferenceSession } from '../../src/backends/onnx/session.ts';
import { createRandom, initialValues } from '../../src/nn/init.ts';
import { DEMO_TRUNK, lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import { REPOSITORY_ROOT } from '../helpers/shared.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;
const ORT_WEB_DIST = join(REPOSITORY_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const BATCH = 2;

let server: Server;
let baseUrl: string;
let context: BrowserContext;
let profile: string;
let model: Uint8Array;
let images: Float32Array;

const CONTENT_TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
};

before(async () => {
  if (skip) return;
  // A quarter-width LiLNet (K = 2) with seeded initial weights keeps the file small (about 6 MB).
  const config = lilnetConfig(2, DEMO_TRUNK);
  const random = createRandom(11);
  const weights = new Map(
    lilnetSpecs(config).map((spec) => [spec.name, { data: initialValues(spec, random), shape: spec.shape }]),
  );
  model = exportLilnetOnnx(config, { parameters: (name) => weights.get(name)! }).bytes;
  images = new Float32Array(BATCH * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.37));

  server = createServer((request, response) => {
    const url = request.url ?? '/';
    let body: Uint8Array | string;
    let type = 'application/octet-stream';
    if (url === '/') {
      body = '<!doctype html><title>onnxruntime-web</title>';
      type = 'text/html';
    } else if (url === '/model.onnx') {
      body = model;
    } else if (url === '/images.bin') {
      body = new Uint8Array(images.buffer);
    } else if (url.startsWith('/ort/') && existsSync(join(ORT_WEB_DIST, basename(url)))) {
      body = readFileSync(join(ORT_WEB_DIST, basename(url)));
      type = CONTENT_TYPES[url.slice(url.lastIndexOf('.'))] ?? type;
    } else {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  baseUrl = `http://127.0.0.1:${address.port}`;

  profile = await mkdtemp(join(tmpdir(), 'lilnet-chromium-onnx-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
});

after(async () => {
  await context?.close();
  if (server) await new Promise((resolve) => server.close(resolve));
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('chromium runs exported lilnet', { skip }, async () => {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  const result = await page.evaluate(async (batch) => {
    const ort = await import('/ort/ort.wasm.min.mjs' as string);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = '/ort/';
    const session = await ort.InferenceSession.create('/model.onnx', { executionProviders: ['wasm'] });
    const data = new Float32Array(await (await fetch('/images.bin')).arrayBuffer());
    const outputs = await session.run({ images: new ort.Tensor('float32', data, [batch, 3, 224, 224]) });
    return {
      inputNames: session.inputNames as string[],
      outputNames: session.outputNames as string[],
      aggregated: Array.from(outputs.aggregated_logits.data as Float32Array),
      joint: Array.from(outputs.layer4_joint_logits.data as Float32Array),
      jointDims: outputs.layer4_joint_logits.dims as number[],
    };
  }, BATCH);

  const node = await OnnxInferenceSession.create(model);
  const expected = await node.run({ images: { data: images, shape: [BATCH, 3, 224, 224] } });
  await node.release();

  assert.deepEqual(result.inputNames, ['images']);
  assert.equal(result.outputNames[0], 'aggregated_logits');
  assert.deepEqual(result.jointDims, [5 * BATCH, 10]);
  assert.equal(result.aggregated.length, BATCH * 2);
  // Untrained weights give logits of a few units; WebAssembly and native kernels sum in different orders, so
  // the bound is relative: 1e-5 of the magnitude, at least 1e-5.
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
  result.aggregated.forEach((v, i) => {
    const node = expected.aggregated_logits.data[i];
    assert.ok(close(v, node), `aggregated[${i}]: ${v} in Chromium, ${node} in Node`);
  });
  result.joint.forEach((v, i) => {
    const node = expected.layer4_joint_logits.data[i];
    assert.ok(close(v, node), `joint[${i}]: ${v} in Chromium, ${node} in Node`);
  });
});
