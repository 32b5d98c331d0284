import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LilnetError } from '../../src/errors.ts';
import {
  isTrainingCheckpointBytes,
  readTrainingCheckpoint,
  writeTrainingCheckpoint,
  type TrainingCheckpoint,
} from '../../src/nn/checkpoint/lilnet-checkpoint.ts';

let folder: string;
before(() => {
  folder = mkdtempSync(join(tmpdir(), 'lilnet-checkpoint-'));
});
after(() => rmSync(folder, { recursive: true, force: true }));

function sampleCheckpoint(scale = 1): TrainingCheckpoint {
  return {
    model: { architecture: 'lilnet', numClasses: 2, trunk: { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] } },
    epoch: 7,
    stateDict: new Map([
      [
        'conv1.weight',
        {
          shape: [2, 3, 1, 1],
          dtype: 'float32',
          data: Float32Array.from([1, 2, 3, 4, 5, 6].map((v) => v * scale)),
        },
      ],
      ['bn1.running_var', { shape: [3], dtype: 'float32', data: Float32Array.from([0.5, 1.5, 2.5]) }],
    ]),
    optimizer: {
      kind: 'sgd',
      lr: 0.01,
      momentum: 0.9,
      dampening: 0,
      weightDecay: 1e-4,
      nesterov: false,
      momentumBuffers: new Map([
        ['conv1.weight', { shape: [2, 3, 1, 1], dtype: 'float32', data: new Float32Array(6).fill(0.25) }],
      ]),
    },
    config: { batchSize: 128, phases: ['AP', 'PVP'] },
    metrics: { validationAuc: 0.91 },
  };
}

const isInvalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof LilnetError && error.code === 'TRAINING_CHECKPOINT_INVALID' && pattern.test(error.message);

test('checkpoint round-trips every field', async () => {
  const path = join(folder, 'round-trip.lilnet');
  const written = sampleCheckpoint();
  await writeTrainingCheckpoint(path, written);
  assert.equal(isTrainingCheckpointBytes(readFileSync(path)), true);
  const read = await readTrainingCheckpoint(path);
  assert.deepEqual(read, written);
  assert.deepEqual(
    readdirSync(folder).filter((name) => name.endsWith('.tmp')),
    [],
    'no temporary file is left',
  );
});

test('checkpoint replaces an existing file whole', async () => {
  const path = join(folder, 'replace.lilnet');
  await writeTrainingCheckpoint(path, sampleCheckpoint(1));
  await writeTrainingCheckpoint(path, sampleCheckpoint(10));
  const read = await readTrainingCheckpoint(path);
  assert.deepEqual([...read.stateDict.get('conv1.weight')!.data], [10, 20, 30, 40, 50, 60]);
});

test('failed write keeps the previous checkpoint', async () => {
  const path = join(folder, 'keep.lilnet');
  await writeTrainingCheckpoint(path, sampleCheckpoint(1));
  const broken = sampleCheckpoint(2);
  broken.stateDict.set('fc.weight', { shape: [4, 4], dtype: 'float32', data: new Float32Array(3) });
  await assert.rejects(writeTrainingCheckpoint(path, broken), /fc.weight has 3 values/);
  const read = await readTrainingCheckpoint(path);
  assert.deepEqual([...read.stateDict.get('conv1.weight')!.data], [1, 2, 3, 4, 5, 6]);
});

test('damaged checkpoint is rejected', async () => {
  const path = join(folder, 'damaged.lilnet');
  await writeTrainingCheckpoint(path, sampleCheckpoint());
  const bytes = readFileSync(path);

  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 70] ^= 0xff;
  writeFileSync(path, flipped);
  await assert.rejects(readTrainingCheckpoint(path), isInvalid(/SHA-256/));

  writeFileSync(path, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(readTrainingCheckpoint(path), isInvalid(/SHA-256/));

  writeFileSync(path, bytes.subarray(0, 20));
  await assert.rejects(readTrainingCheckpoint(path), isInvalid(/truncated inside the header/));

  writeFileSync(path, Buffer.from('PK\u0003\u0004 a zip file'));
  await assert.rejects(readTrainingCheckpoint(path), isInvalid(/LILNETCK/));

  const newer = Buffer.from(bytes);
  newer.writeUInt32LE(2, 8);
  writeFileSync(path, newer);
  await assert.rejects(readTrainingCheckpoint(path), isInvalid(/format version 2/));
});

test('missing checkpoint raises FILE_NOT_FOUND', async () => {
  await assert.rejects(
    readTrainingCheckpoint(join(folder, 'absent.lilnet')),
    (error: unknown) => error instanceof LilnetError && error.code === 'FILE_NOT_FOUND',
  );
});
