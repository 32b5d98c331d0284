import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { exportLilnetOnnx } from '../../src/backends/onnx/export-model.ts';
import { readOnnxMetadataProps } from '../../src/backends/onnx/onnx-metadata.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import type { ResNetTrunkConfig } from '../../src/nn/resnet.ts';
import { sharedPath } from '../helpers/shared.ts';

// A LiLNet with a narrow one-block-per-stage trunk keeps the ONNX file small and the CLI runs fast.
const TRUNK: ResNetTrunkConfig = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] };
const IMAGE_SIZE_PX = 224;

let dir: string;
let labelled: string;
let unlabelled: string;

/** Writes a small K = 3 LiLNet ONNX file with deterministic weights and the given metadata. */
function writeSmallLilnet(path: string, metadata: Record<string, string>): void {
  const config = lilnetConfig(3, TRUNK);
  const shapes = new Map(lilnetSpecs(config).map((spec) => [spec.name, spec.shape]));
  const exported = exportLilnetOnnx(config, {
    imageSizePx: IMAGE_SIZE_PX,
    metadata,
    parameters: (name) => {
      const shape = shapes.get(name)!;
      const count = shape.reduce((a, b) => a * b, 1);
      // Variances must stay positive; every other value is a small deterministic pattern.
      const positive = name.endsWith('running_var');
      const data = Float32Array.from({ length: count }, (_, i) =>
        positive ? 1 : Math.sin(i * 0.7 + name.length) * 0.05,
      );
      return { data, shape };
    },
  });
  writeFileSync(path, exported.bytes);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-onnx-labels-'));
  labelled = join(dir, 'labelled.onnx');
  unlabelled = join(dir, 'unlabelled.onnx');
  writeSmallLilnet(labelled, { 'lilnet.classes': 'HCC,ICC,MET' });
  writeSmallLilnet(unlabelled, {});
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
