import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pngjs from 'pngjs';
import { readOnnxMetadataProps } from '../../src/backends/onnx/onnx-metadata.ts';
import { writeSmallLilnet } from './small-lilnet.ts';
import { sharedPath } from '../helpers/shared.ts';

let dir: string;
let labelled: string;
let unlabelled: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-onnx-labels-'));
  labelled = join(dir, 'labelled.onnx');
  unlabelled = join(dir, 'unlabelled.onnx');
  writeSmallLilnet(labelled, { numClasses: 3, metadata: { 'lilnet.classes': 'HCC,ICC,MET' } });
  writeSmallLilnet(unlabelled, { numClasses: 3 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function lilnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const crop = () => sharedPath('fixtures', 'lilnet-reference', 'crops', 'crop-01.png');

test('metadata reader skips the graph', async () => {
  const props = await readOnnxMetadataProps(labelled);
  assert.equal(props['lilnet.classes'], 'HCC,ICC,MET');
  assert.equal(props['lilnet.architecture'], 'lilnet');
  assert.equal(props['lilnet.num_classes'], '3');
});

test('metadata reader on non-ONNX bytes', async () => {
  const text = join(dir, 'text.onnx');
  writeFileSync(text, 'not an onnx model\n');
  assert.deepEqual(await readOnnxMetadataProps(text), {});
});

test('predict uses recorded classes', () => {
  const result = lilnet('predict', '--model', labelled, '--json', crop());
  assert.equal(result.status, 0, result.stderr);
  const document = JSON.parse(result.stdout);
  assert.deepEqual(document.classes, ['HCC', 'ICC', 'MET']);
  assert.ok(['HCC', 'ICC', 'MET'].includes(document.predicted_class[0]));
});

test('predict rejects task against recorded classes', () => {
  const result = lilnet('predict', '--model', labelled, '--task', 'benign', crop());
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /\[CHECKPOINT_MISMATCH\]/);
  assert.match(result.stderr, /records classes HCC, ICC, MET, but task benign labels them FNH, HEM, CYST/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('predict accepts matching task', () => {
  const result = lilnet('predict', '--model', labelled, '--task', 'malignant', '--json', crop());
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).classes, ['HCC', 'ICC', 'MET']);
});

test('predict without recorded classes', () => {
  const result = lilnet('predict', '--model', unlabelled, '--json', crop());
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).classes, ['class 0', 'class 1', 'class 2']);
});

test('predict names a missing image', () => {
  const missing = join(dir, 'no-such-crop.png');
  const result = lilnet('predict', '--model', unlabelled, missing);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[FILE_NOT_FOUND\]/);
  assert.match(result.stderr, /no-such-crop\.png/);
});

test('predict rejects a folder as image', () => {
  const result = lilnet('predict', '--model', unlabelled, dir);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[INVALID_ARGUMENT\] .* is a folder, not an image file/);
});

test('predict warns about 16-bit crops', () => {
  const image = new pngjs.PNG({ width: 8, height: 8, bitDepth: 16, colorType: 0, inputColorType: 0 });
  const samples = new Uint16Array(64).map((_, i) => i * 1000);
  image.data = Buffer.from(samples.buffer) as unknown as Buffer;
  const file = join(dir, 'sixteen-bit.png');
  writeFileSync(file, pngjs.PNG.sync.write(image, { bitDepth: 16, colorType: 0, inputColorType: 0 }));
  const result = lilnet('predict', '--model', unlabelled, '--json', file);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /16-bit image reduced to 8 bits/);
  assert.match(result.stderr, /sixteen-bit\.png/);
  assert.doesNotThrow(() => JSON.parse(result.stdout));
});
