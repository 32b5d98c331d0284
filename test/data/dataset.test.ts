import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import sharp from 'sharp';
import {
  assertDisjointPatients,
  parseCropPhases,
  readAuthorsSplit,
  readLabelCsv,
} from '../../src/data/authors-dataset.ts';
import { augmentGreyPlane, rotateNearest, sampleToModelInput } from '../../src/data/augment.ts';
import { balanceClasses } from '../../src/data/balance.ts';
import { decodeCsvBytes } from '../../src/data/csv-text.ts';
import { batchStream, epochOrder } from '../../src/data/pipeline.ts';
import { Rng } from '../../src/data/rng.ts';
import { imageToModelInput } from '../../src/nn/preprocess.ts';
import { holdOutPatients } from '../../src/train/dataset-split.ts';

test('balance repeats whole copies then a head', () => {
  const samples = [
    ...'aaaaaaaa'.split('').map((_, i) => ({ id: `a${i}`, label: 0 })),
    ...[0, 1, 2].map((i) => ({ id: `b${i}`, label: 1 })),
  ];
  const balanced = balanceClasses(samples, (s) => s.label);
  const ones = balanced.filter((s) => s.label === 1).map((s) => s.id);
  assert.deepEqual(ones, ['b0', 'b1', 'b2', 'b0', 'b1', 'b2', 'b0', 'b1']);
  assert.equal(balanced.filter((s) => s.label === 0).length, 8);
});

test('CSV decoding detects GBK and UTF-8 BOM', () => {
  const gbk = iconv.encode('ID,Cancer\n张三,hcc\n', 'gbk');
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(gbk));
  assert.deepEqual(decodeCsvBytes(new Uint8Array(gbk)), { text: 'ID,Cancer\n张三,hcc\n', encoding: 'gbk' });
  const utf8 = new TextEncoder().encode('\uFEFFID,Cancer\n李四,good\n');
  assert.deepEqual(decodeCsvBytes(utf8), { text: 'ID,Cancer\n李四,good\n', encoding: 'utf-8' });
});

test('phase list parsing', () => {
  assert.deepEqual(parseCropPhases('ap,PVP'), ['AP', 'PVP']);
  assert.deepEqual(parseCropPhases('NC'), ['CT']);
  assert.throws(() => parseCropPhases('AP,DP'), /unknown phase "DP"/);
});

test('authors layout reader and CSV errors', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-authors-'));
  try {
    const grey = await sharp({
      create: { width: 20, height: 20, channels: 3, background: { r: 90, g: 90, b: 90 } },
    })
      .png()
      .toBuffer();
    for (const [id, phases] of [
      ['病人1', ['AP', 'PVP', 'CT']],
      ['P2', ['AP']],
    ] as const) {
      for (const phase of phases) {
        await mkdir(join(root, id, phase), { recursive: true });
        await writeFile(join(root, id, phase, 'IMG-0002-00001_0.png'), grey);
        await writeFile(join(root, id, phase, 'IMG-0002-00002_0.png'), grey);
      }
    }
    await writeFile(
      join(root, 'hcc_icc_met_train.csv'),
      iconv.encode('ID,Cancer\n病人1,HCC\nP2,met\n', 'gbk'),
    );
    const patients = await readAuthorsSplit(root, join(root, 'hcc_icc_met_train.csv'), { task: 'malignant' });
    assert.equal(patients.length, 2);
    assert.equal(patients[0].id, '病人1');
    assert.equal(patients[0].label, 0);
    assert.equal(patients[0].samples.length, 4, 'AP and PVP only by default');
    assert.equal(patients[1].label, 2);
    const withNc = await readAuthorsSplit(root, join(root, 'hcc_icc_met_train.csv'), {
      task: 'malignant',
      phases: ['CT', 'AP', 'PVP'],
    });
    assert.equal(withNc[0].samples.length, 6);

    await writeFile(join(root, 'bad.csv'), 'ID,Cancer\nP2,good\n');
    await assert.rejects(
      readLabelCsv(join(root, 'bad.csv'), 'malignant'),
      /DATASET_CSV_INVALID|Cancer "good" is not one of hcc, icc, met/,
    );
    await writeFile(join(root, 'header.csv'), 'patient,label\nP2,hcc\n');
    await assert.rejects(
      readLabelCsv(join(root, 'header.csv'), 'malignant'),
      /without ID and Cancer columns/,
    );
    await writeFile(join(root, 'missing.csv'), 'ID,Cancer\nP9,hcc\n');
    await assert.rejects(
      readAuthorsSplit(root, join(root, 'missing.csv'), { task: 'malignant' }),
      /have no AP\/PVP crops.*P9/,
    );
    await assert.rejects(readLabelCsv(join(root, 'absent.csv'), 'bm'), /not found/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('patient splits never share a patient', () => {
  const patients = Array.from({ length: 20 }, (_, i) => ({ id: `P${i}`, label: i % 2, samples: [] }));
  const { train, validation } = holdOutPatients(patients, 0.2, 7);
  assert.equal(train.length + validation.length, 20);
  assert.equal(validation.filter((p) => p.label === 0).length, 2);
  assert.equal(validation.filter((p) => p.label === 1).length, 2);
  const trainIds = new Set(train.map((p) => p.id));
  assert.ok(validation.every((p) => !trainIds.has(p.id)));
  assert.throws(
    () => assertDisjointPatients({ train, validation: [...validation, train[0]] }),
    /is in both the train and the validation split/,
  );
});

test('rotation by 90 degrees moves corners', () => {
  const plane = new Float32Array(9);
  plane[0] = 1; // top-left
  const rotated = rotateNearest(plane, 3, 90);
  // Counter-clockwise by 90 degrees: top-left goes to bottom-left.
  assert.equal(rotated[6], 1);
  assert.equal(
    rotated.reduce((a, b) => a + b, 0),
    1,
  );
  assert.deepEqual(Array.from(rotateNearest(plane, 3, 360)), Array.from(plane));
});

test('augmentation is seeded and evaluation matches preprocess', () => {
  const size = 16;
  const image = {
    width: 24,
    height: 20,
    channels: 1 as const,
    data: Uint8Array.from({ length: 480 }, (_, i) => (i * 7) % 256),
  };
  const a = new Float32Array(3 * size * size);
  const b = new Float32Array(3 * size * size);
  sampleToModelInput(image, size, 'benign-malignant', new Rng(5), a, 0);
  sampleToModelInput(image, size, 'benign-malignant', new Rng(5), b, 0);
  assert.deepEqual(a, b);
  const evaluation = new Float32Array(3 * size * size);
  sampleToModelInput(image, size, 'none', null, evaluation, 0);
  assert.deepEqual(evaluation, imageToModelInput(image, size));
  // Salt-and-pepper noise sets about 20% of pixels to 0 or 255 when drawn.
  let saltRuns = 0;
  for (let seed = 0; seed < 50; seed++) {
    const plane = new Float32Array(size * size).fill(128);
    const out = augmentGreyPlane(plane, size, 'benign-malignant', new Rng(seed));
    const extremes = out.filter((v) => v === 0 || v === 255).length;
    const inside = out.filter((v) => v > 0 && v < 255).length;
    if (inside > 0 && extremes / inside > 0.1 && extremes / inside < 0.4) saltRuns++;
  }
  assert.ok(saltRuns > 3, `salt-and-pepper drawn in ${saltRuns} of 50 runs`);
  assert.ok(saltRuns < 25, `salt-and-pepper drawn in ${saltRuns} of 50 runs`);
});

test('batch stream order is seeded per epoch', async () => {
  assert.deepEqual(epochOrder(10, 3, 1), epochOrder(10, 3, 1));
  assert.notDeepEqual(epochOrder(10, 3, 1), epochOrder(10, 3, 2));
  const root = await mkdtemp(join(tmpdir(), 'lilnet-batches-'));
  try {
    const samples = [];
    for (let i = 0; i < 5; i++) {
      const path = join(root, `${i}.png`);
      await sharp({
        create: { width: 8, height: 8, channels: 3, background: { r: i * 40, g: i * 40, b: i * 40 } },
      })
        .png()
        .toFile(path);
      samples.push({ path, label: i % 2 });
    }
    const batches = [];
    for await (const batch of batchStream({
      samples,
      batchSize: 2,
      sizePx: 8,
      family: 'none',
      seed: 1,
      epoch: 0,
      shuffle: false,
      prefetch: 2,
    }))
      batches.push(batch);
    assert.deepEqual(
      batches.map((b) => b.shape[0]),
      [2, 2, 1],
    );
    assert.deepEqual(Array.from(batches[2].labels), [0]);
    // Sample 4 is grey level 160: (160 / 255 - 0.5) / 0.5.
    assert.ok(Math.abs(batches[2].images[0] - (160 / 255 - 0.5) / 0.5) < 1e-6);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('case lesion file validation', async () => {
  const { parseCaseTruth } = await import('../../src/data/case-layout.ts');
  const good = parseCaseTruth(
    'c1',
    '/x',
    'lesions.json',
    JSON.stringify({ lesions: [{ type: 'HEM', boxes: { ap: [{ slice: 2, x0: 1, y0: 1, x1: 5, y1: 6 }] } }] }),
  );
  assert.equal(good.lesionType, 'hem');
  assert.deepEqual(good.lesions[0].boxes.AP, [{ slice: 2, x0: 1, y0: 1, x1: 5, y1: 6 }]);
  assert.throws(
    () => parseCaseTruth('c1', '/x', 'lesions.json', '{"lesions": []}'),
    /has no "lesions" array/,
  );
  assert.throws(
    () => parseCaseTruth('c1', '/x', 'lesions.json', '{"lesions": [{"type": "adenoma"}]}'),
    /type "adenoma"/,
  );
  assert.throws(
    () =>
      parseCaseTruth(
        'c1',
        '/x',
        'lesions.json',
        '{"lesions": [{"type": "hcc", "boxes": {"AP": [{"slice": 0, "x0": 5, "y0": 0, "x1": 5, "y1": 3}]}}]}',
      ),
    /invalid AP box/,
  );
  assert.throws(() => parseCaseTruth('c1', '/x', 'lesions.json', '{'), /not valid JSON/);
});

/** Encodes a 24-bit bottom-up BMP of grey levels (rows top first in `rows`). */
function greyBmp(rows: number[][]): Buffer {
  const height = rows.length;
  const width = rows[0].length;
  const stride = Math.ceil((width * 3) / 4) * 4;
  const buffer = Buffer.alloc(54 + stride * height);
  buffer.write('BM', 0, 'ascii');
  buffer.writeUInt32LE(buffer.length, 2);
  buffer.writeUInt32LE(54, 10);
  buffer.writeUInt32LE(40, 14);
  buffer.writeInt32LE(width, 18);
  buffer.writeInt32LE(height, 22);
  buffer.writeUInt16LE(1, 26);
  buffer.writeUInt16LE(24, 28);
  buffer.writeUInt32LE(stride * height, 34);
  rows.forEach((row, y) => {
    const offset = 54 + (height - 1 - y) * stride;
    row.forEach((value, x) => buffer.fill(value, offset + 3 * x, offset + 3 * x + 3));
  });
  return buffer;
}

test('BMP crops read as grey', async () => {
  const { readCropImage } = await import('../../src/data/pipeline.ts');
  const root = await mkdtemp(join(tmpdir(), 'lilnet-bmp-'));
  try {
    const path = join(root, 'IMG-0002-00001_0.bmp');
    await writeFile(
      path,
      greyBmp([
        [10, 20, 30],
        [40, 50, 60],
      ]),
    );
    const image = await readCropImage(path);
    assert.equal(image.channels, 1);
    assert.equal(image.width, 3);
    assert.equal(image.height, 2);
    assert.deepEqual(Array.from(image.data), [10, 20, 30, 40, 50, 60]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
