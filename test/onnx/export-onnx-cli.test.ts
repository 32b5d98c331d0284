import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readOnnxMetadataProps } from '../../src/backends/onnx/onnx-metadata.ts';
import { writeTrainingCheckpoint, type CheckpointTensor } from '../../src/nn/checkpoint/lilnet-checkpoint.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import type { ResNetTrunkConfig } from '../../src/nn/resnet.ts';
import { sharedPath } from '../helpers/shared.ts';

// A K = 3 LiLNet with a narrow trunk in lilnet's own checkpoint format, so export-onnx runs in seconds.
const TRUNK: ResNetTrunkConfig = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] };

let dir: string;
let checkpoint: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-export-cli-'));
  checkpoint = join(dir, 'small.lilnet');
  const stateDict = new Map<string, CheckpointTensor>();
  for (const spec of lilnetSpecs(lilnetConfig(3, TRUNK))) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const positive = spec.name.endsWith('running_var');
    const data = Float32Array.from({ length: count }, (_, i) => (positive ? 1 : Math.cos(i) * 0.05));
    stateDict.set(spec.name, { shape: spec.shape, dtype: 'float32', data });
  }
  await writeTrainingCheckpoint(checkpoint, {
    model: { architecture: 'lilnet', numClasses: 3, trunk: TRUNK },
    epoch: 1,
    stateDict,
    optimizer: null,
    config: {},
    metrics: {},
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function lilnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const crop = () => sharedPath('fixtures', 'lilnet-reference', 'crops', 'crop-02.png');

test('export without task records no labels', async () => {
  const output = join(dir, 'no-task.onnx');
  const exported = lilnet('export-onnx', '--model', checkpoint, '-o', output);
  assert.equal(exported.status, 0, exported.stderr);
  const props = await readOnnxMetadataProps(output);
  assert.equal(props['lilnet.classes'], undefined);
  assert.equal(props['lilnet.converted_from'], 'small.lilnet');

  // The task can still be chosen when predicting.
  const predicted = lilnet('predict', '--model', output, '--task', 'malignant', '--json', crop());
  assert.equal(predicted.status, 0, predicted.stderr);
  assert.deepEqual(JSON.parse(predicted.stdout).classes, ['HCC', 'ICC', 'MET']);
});

test('export with task records labels', async () => {
  const output = join(dir, 'benign.onnx');
  const exported = lilnet('export-onnx', '--model', checkpoint, '-o', output, '--task', 'benign', '--json');
  assert.equal(exported.status, 0, exported.stderr);
  assert.deepEqual(JSON.parse(exported.stdout).classes, ['FNH', 'HEM', 'CYST']);
  assert.equal((await readOnnxMetadataProps(output))['lilnet.classes'], 'FNH,HEM,CYST');
});

test('failed export leaves no temporary file', () => {
  const outputFolder = join(dir, 'existing-folder');
  mkdirSync(outputFolder);
  const before = readdirSync(dir).sort();
  const exported = lilnet('export-onnx', '--model', checkpoint, '-o', outputFolder);
  assert.equal(exported.status, 1);
  assert.match(exported.stderr, /cannot write .*existing-folder/);
  assert.deepEqual(readdirSync(dir).sort(), before);
});
