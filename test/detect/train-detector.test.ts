/**
 * A CI-sized training run end to end through the CLI: tiny phantom slices (bright discs of known position on
 * noisy grey), `train-detector`, `detect --json` on held-out slices, then `eval-detection`. Needs the libtorch
 * addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/data/rng.ts';
import { isTorchAvailable } from '../../src/backends/torch/native.ts';
import { evaluateDetections } from '../../src/detect/evaluate.ts';
import { readPredictions } from '../../src/detect/detections-file.ts';
import { readYoloLabelFolder, yoloLabelToBox } from '../../src/detect/yolo-labels.ts';

const SIZE = 96;

/** Writes `count` slices with one or two discs each, in the YOLO layout under `root/images/<split>`. */
async function writePhantoms(root: string, split: string, count: number, rng: Rng): Promise<void> {
  mkdirSync(join(root, 'images', split), { recursive: true });
  mkdirSync(join(root, 'labels', split), { recursive: true });
  for (let index = 0; index < count; index++) {
    const pixels = Buffer.alloc(SIZE * SIZE);
    for (let pixel = 0; pixel < pixels.length; pixel++)
      pixels[pixel] = Math.max(0, Math.min(255, Math.round(rng.normal(90, 12))));
    const lines: string[] = [];
    const discs = index % 5 === 0 ? 0 : rng.int(1, 2);
    for (let disc = 0; disc < discs; disc++) {
      const radius = rng.uniform(5, 12);
      const centreX = rng.uniform(radius + 2, SIZE - radius - 2) + disc * 0;
      const centreY =
        disc === 0
          ? rng.uniform(radius + 2, SIZE / 2 - radius)
          : rng.uniform(SIZE / 2 + radius, SIZE - radius - 2);
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          if ((x + 0.5 - centreX) ** 2 + (y + 0.5 - centreY) ** 2 <= radius ** 2)
            pixels[y * SIZE + x] = Math.min(255, pixels[y * SIZE + x] + 80);
        }
      }
      lines.push(
        `0 ${(centreX / SIZE).toFixed(6)} ${(centreY / SIZE).toFixed(6)} ${((2 * radius) / SIZE).toFixed(6)} ${((2 * radius) / SIZE).toFixed(6)}`,
      );
    }
    const name = `${split}-${String(index).padStart(3, '0')}`;
    await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .png()
      .toFile(join(root, 'images', split, `${name}.png`));
    writeFileSync(join(root, 'labels', split, `${name}.txt`), lines.map((line) => `${line}\n`).join(''));
  }
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
}

test(
  'trained detector finds planted discs',
  { skip: !isTorchAvailable() && 'the libtorch addon is not built', timeout: 600_000 },
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'lilnet-train-detector-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const rng = new Rng(7);
    await writePhantoms(root, 'train', 160, rng);
    await writePhantoms(root, 'val', 30, rng);
    const run = join(root, 'run');

    const args = [
      'train-detector',
      '--data',
      root,
      '--out',
      run,
      '--size',
      'tiny',
      '--imgsz',
      '96',
      '--batch',
      '8',
      '--lr',
      '0.02',
      '--threads',
      '1',
    ];
    const first = runCli([...args, '--epochs', '5']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /epoch 5\/5 done/);
    for (const file of [
      'last.ckpt',
      'best.ckpt',
      'best.onnx',
      'metrics.csv',
      'metrics.jsonl',
      'curves.svg',
      'curves.png',
      'options.json',
    ]) {
      assert.ok(existsSync(join(run, file)), `${file} written`);
    }

    // Resume adds epochs to the same run.
    const resumed = runCli([...args, '--epochs', '8', '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stderr, /epoch 5\/8 done/);
    assert.match(resumed.stderr, /epoch 8\/8 done/);
    const metrics = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n');
    assert.equal(metrics.length, 1 + 8, 'one header and one row per epoch');
    const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      records.map((record) => record.epoch),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );

    const detected = runCli([
      'detect',
      '--model',
      join(run, 'best.onnx'),
      '--json',
      join(root, 'images', 'val'),
    ]);
    assert.equal(detected.status, 0, detected.stderr);
    const detectionsFile = join(root, 'detections.json');
    writeFileSync(detectionsFile, detected.stdout);

    const evaluated = runCli([
      'eval-detection',
      '--truth',
      join(root, 'labels', 'val'),
      '--pred',
      detectionsFile,
      '--iou',
      '0.3',
      '--json',
    ]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const [atIou30] = JSON.parse(evaluated.stdout).thresholds;

    // Chance: as many boxes per slice as the detector gave, of the truth sizes, at random places.
    const truth = readYoloLabelFolder(join(root, 'labels', 'val'));
    const predictions = readPredictions(detectionsFile);
    const chanceImages = [...truth].map(([name, labels]) => ({
      name,
      truth: labels.map((label) => yoloLabelToBox(label, 1, 1)),
      predictions: (predictions.get(name) ?? []).map((box) => {
        const width = box.x2 - box.x1;
        const height = box.y2 - box.y1;
        const x1 = rng.uniform(0, 1 - width);
        const y1 = rng.uniform(0, 1 - height);
        return { x1, y1, x2: x1 + width, y2: y1 + height, score: box.score };
      }),
    }));
    const [chance] = evaluateDetections(chanceImages, { iouThresholds: [0.3] }).thresholds;
    t.diagnostic(
      `IoU 0.3: trained P ${atIou30.precision} R ${atIou30.recall}; chance P ${chance.precision} R ${chance.recall}`,
    );

    assert.ok(atIou30.recall >= 0.6, `recall at IoU 0.3 is ${atIou30.recall}`);
    assert.ok(atIou30.precision >= 0.5, `precision at IoU 0.3 is ${atIou30.precision}`);
    assert.ok(atIou30.recall > (chance.recall ?? 0) + 0.4, `chance recall is ${chance.recall}`);
  },
);
