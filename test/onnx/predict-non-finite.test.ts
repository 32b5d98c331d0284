import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeSmallLilnet } from './small-lilnet.ts';

let dir: string;
let model: string;
let nanModel: string;
let tensor: string;

const SHAPE = '2,3,224,224';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-non-finite-'));
  model = join(dir, 'small.onnx');
  nanModel = join(dir, 'nan-bias.onnx');
  writeSmallLilnet(model, { numClasses: 2 });
  // A NaN bias in the layer-4 joint head (`fc`) makes the aggregated logits NaN.
  writeSmallLilnet(nanModel, {
    numClasses: 2,
    overrides: { 'fc.bias': (data) => data.fill(Number.NaN) },
  });
  tensor = join(dir, 'finite.bin');
  writeFileSync(tensor, Buffer.from(new Float32Array(2 * 3 * 224 * 224).fill(0.25).buffer));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function lilnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('NaN input tensor is rejected', () => {
  const values = new Float32Array(2 * 3 * 224 * 224);
  values[3 * 224 * 224 + 7] = Number.NaN;
  values[3 * 224 * 224 + 9] = Number.POSITIVE_INFINITY;
  const file = join(dir, 'nan.bin');
  writeFileSync(file, Buffer.from(values.buffer));
  const result = lilnet('predict', '--model', model, '--json', '--input-tensor', file, '--shape', SHAPE);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /\[INVALID_ARGUMENT\]/);
  assert.match(result.stderr, /nan\.bin contains 2 NaN or infinite value\(s\), the first in image 1/);
});

test('NaN logits give no prediction', () => {
  const result = lilnet('predict', '--model', nanModel, '--json', '--input-tensor', tensor, '--shape', SHAPE);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '', 'no "benign" prediction from NaN logits');
  assert.match(result.stderr, /\[MODEL_OUTPUT_INVALID\]/);
  assert.match(result.stderr, /NaN or infinite logits for input finite\.bin\[0\]/);
});

test('finite tensor still predicts', () => {
  const result = lilnet('predict', '--model', model, '--json', '--input-tensor', tensor, '--shape', SHAPE);
  assert.equal(result.status, 0, result.stderr);
  const document = JSON.parse(result.stdout);
  assert.equal(document.aggregated_logits.length, 2);
  assert.ok(document.aggregated_logits.flat().every(Number.isFinite));
});
