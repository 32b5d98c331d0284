import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildEvaluationImages } from '../../src/cli/commands/eval-detection.ts';
import { isLilnetError } from '../../src/errors.ts';

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/lilnet.js', ...args], { encoding: 'utf8' });
}

test('eval-detection scores a detections document', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-evaldet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const labels = join(root, 'labels');
  mkdirSync(labels);
  // Slice a (512 x 512): truth at pixels (100, 100)-(150, 150) and (300, 300)-(340, 340). Slice b: one lesion.
  writeFileSync(
    join(labels, 'a.txt'),
    '0 0.244141 0.244141 0.097656 0.097656\n0 0.625000 0.625000 0.078125 0.078125\n',
  );
  writeFileSync(join(labels, 'b.txt'), '0 0.5 0.5 0.1 0.1\n');
  writeFileSync(join(labels, 'classes.txt'), 'lesion\n');
  writeFileSync(join(root, 'types.csv'), 'image,box,type\na,0,HCC\na,1,CYST\nb,0,HCC\n');
  const detections = {
    model: { path: 'test', inputSize: 512, confidenceThreshold: 0.25, nmsIouThreshold: 0.5 },
    slices: [
      {
        file: 'images/a.png',
        width: 512,
        height: 512,
        boxes: [
          { x1: 100, y1: 100, x2: 150, y2: 150, score: 0.9 },
          { x1: 10, y1: 10, x2: 30, y2: 30, score: 0.5 },
        ],
      },
      // Slice b's lesion covers (230.4, 230.4)-(281.6, 281.6); this box is shifted by 20 px.
      {
        file: 'images/b.png',
        width: 512,
        height: 512,
        boxes: [{ x1: 250.4, y1: 230.4, x2: 301.6, y2: 281.6, score: 0.8 }],
      },
      { file: 'images/c.png', width: 512, height: 512, boxes: [] },
    ],
  };
  writeFileSync(join(root, 'detections.json'), JSON.stringify(detections));

  const out = join(root, 'report');
  const result = runCli([
    'eval-detection',
    '--truth',
    root,
    '--pred',
    join(root, 'detections.json'),
    '--types',
    join(root, 'types.csv'),
    '--out',
    out,
    '--json',
  ]);
  assert.equal(result.status, 0, result.stderr);
  const evaluation = JSON.parse(result.stdout);
  assert.equal(evaluation.imageCount, 3);
  assert.equal(evaluation.truthCount, 3);
  const [at01, at03, at05] = evaluation.thresholds;
  // IoU of the shifted box: (51.2 - 20) * 51.2 / (2 * 51.2^2 - 31.2 * 51.2) = 31.2 / 71.2 = 0.438.
  assert.equal(at01.truePositives, 2);
  assert.equal(at03.truePositives, 2);
  assert.equal(at05.truePositives, 1);
  assert.equal(at05.falsePositives, 2);
  assert.equal(at05.falseNegatives, 2);
  assert.equal(at03.byLesionType.HCC.recall, 1);
  assert.equal(at03.byLesionType.CYST.recall, 0);
  assert.ok(evaluation.averagePrecision50 > 0);
  assert.ok(evaluation.averagePrecision50 < 1);

  const png = await sharp(join(out, 'pr-curve.png')).metadata();
  assert.equal(png.format, 'png');
  assert.ok((png.width ?? 0) > 100);
  assert.match(readFileSync(join(out, 'pr-curve.svg'), 'utf8'), /<path d="M /);
  assert.deepEqual(
    JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).thresholds,
    evaluation.thresholds,
  );
});

test('eval-detection reads YOLO prediction files', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-evaldet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'truth'));
  mkdirSync(join(root, 'pred'));
  writeFileSync(join(root, 'truth', 'x.txt'), '0 0.5 0.5 0.2 0.2\n');
  writeFileSync(join(root, 'pred', 'x.txt'), '0 0.5 0.5 0.2 0.2 0.77\n0 0.1 0.1 0.05 0.05 0.3\n');
  const result = runCli([
    'eval-detection',
    '--truth',
    join(root, 'truth'),
    '--pred',
    join(root, 'pred'),
    '--iou',
    '0.5',
  ]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /IoU 0\.5:\n {2}overall +P {2}50\.0% +R 100\.0%/);
  assert.match(result.stdout, /AP at IoU 0\.5: 100\.0%/);
});

test('eval-detection rejects malformed labels', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-evaldet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'labels'));
  writeFileSync(join(root, 'labels', 'bad.txt'), '0 120 130 40 40\n');
  writeFileSync(join(root, 'detections.json'), JSON.stringify({ slices: [] }));
  const result = runCli([
    'eval-detection',
    '--truth',
    join(root, 'labels'),
    '--pred',
    join(root, 'detections.json'),
  ]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /DETECTION_LABEL_INVALID.*bad\.txt line 1/);
  assert.match(result.stderr, /normalised/);

  const badIou = runCli([
    'eval-detection',
    '--truth',
    join(root, 'labels'),
    '--pred',
    join(root, 'detections.json'),
    '--iou',
    '0.3,abc',
  ]);
  assert.equal(badIou.status, 1);
  assert.match(badIou.stderr, /--iou "0\.3,abc"/);
});

test('eval-detection rejects split labels folder', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-evaldet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // The Ultralytics layout that lilnet synth writes: labels/train and labels/val, no label file in labels/.
  for (const split of ['train', 'val']) {
    mkdirSync(join(root, 'labels', split), { recursive: true });
    writeFileSync(join(root, 'labels', split, `${split}-a.txt`), '0 0.5 0.5 0.1 0.1\n');
  }
  const detections = {
    model: { path: 'test', inputSize: 512, confidenceThreshold: 0.25, nmsIouThreshold: 0.5 },
    slices: [
      {
        file: 'images/val/val-a.png',
        width: 512,
        height: 512,
        boxes: [{ x1: 230, y1: 230, x2: 282, y2: 282, score: 0.9 }],
      },
    ],
  };
  writeFileSync(join(root, 'detections.json'), JSON.stringify(detections));

  for (const truth of [root, join(root, 'labels')]) {
    assert.throws(
      () => buildEvaluationImages(truth, join(root, 'detections.json')),
      (error: unknown) => {
        assert.ok(isLilnetError(error));
        assert.equal(error.code, 'DETECTION_DATASET_INVALID');
        assert.match(error.message, /holds no label files, but its subfolders train, val do/);
        assert.match(error.hint ?? '', /--truth .*labels\/val/);
        return true;
      },
    );
  }

  const images = buildEvaluationImages(join(root, 'labels', 'val'), join(root, 'detections.json'));
  assert.deepEqual(
    images.map((image) => image.name),
    ['val-a'],
  );
  assert.equal(images[0].truth.length, 1);
});

test('eval-detection and train-detector reject output under a file', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-evaldet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'labels'));
  writeFileSync(join(root, 'labels', 'a.txt'), '0 0.5 0.5 0.1 0.1\n');
  const detections = {
    model: { path: 'test', inputSize: 512, confidenceThreshold: 0.25, nmsIouThreshold: 0.5 },
    slices: [],
  };
  writeFileSync(join(root, 'detections.json'), JSON.stringify(detections));
  const file = join(root, 'notes.txt');
  writeFileSync(file, '');

  const evaluation = runCli([
    'eval-detection',
    '--truth',
    root,
    '--pred',
    join(root, 'detections.json'),
    '--out',
    join(file, 'eval'),
  ]);
  assert.equal(evaluation.status, 1);
  assert.match(evaluation.stderr, /OUTPUT_FOLDER_FAILED.*notes\.txt\/eval: a file is in the way/);
  assert.doesNotMatch(evaluation.stderr, /unexpected error/);

  const training = runCli(['train-detector', '--data', root, '--out', join(file, 'run'), '--epochs', '1']);
  assert.equal(training.status, 1);
  assert.match(training.stderr, /OUTPUT_FOLDER_FAILED.*notes\.txt\/run: a file is in the way/);
  assert.doesNotMatch(training.stderr, /unexpected error/);
});
