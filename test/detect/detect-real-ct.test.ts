/** The bundled detector on the real CT slices of the shared folder (unlabelled, display-ready 8-bit images). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { DEFAULT_DETECTOR_PATH } from '../../src/detect/detector-session.ts';
import { sharedPath } from '../helpers/shared.ts';

interface SliceEntry {
  file: string;
  width: number;
  height: number;
  sliceIndex?: number;
  boxes: { x1: number; y1: number; x2: number; y2: number; score: number }[];
}

function detectJson(args: string[]) {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', 'detect', '--json', ...args], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

function checkBoxes(slice: SliceEntry): void {
  let previousScore = Infinity;
  for (const box of slice.boxes) {
    assert.ok(box.x1 >= 0, `${slice.file}: x1 ${box.x1} inside the slice`);
    assert.ok(box.y1 >= 0, `${slice.file}: y1 ${box.y1} inside the slice`);
    assert.ok(box.x2 <= slice.width, `${slice.file}: x2 ${box.x2} inside the slice`);
    assert.ok(box.y2 <= slice.height, `${slice.file}: y2 ${box.y2} inside the slice`);
    assert.ok(box.x2 > box.x1, `${slice.file}: box has a positive width`);
    assert.ok(box.y2 > box.y1, `${slice.file}: box has a positive height`);
    assert.ok(box.score >= 0.25, `${slice.file}: score ${box.score} reaches the threshold`);
    assert.ok(box.score <= previousScore, `${slice.file}: boxes are sorted by score`);
    previousScore = box.score;
  }
}

const bundled = existsSync(DEFAULT_DETECTOR_PATH);

test(
  'bundled detector reads every real slice',
  { skip: !bundled && 'models/detector.onnx is absent' },
  () => {
    const lesionSlices = detectJson([sharedPath('data', 'real-ct', 'lesion-slices')]);
    assert.equal(lesionSlices.slices.length, 75);
    const background = detectJson([sharedPath('data', 'real-ct', 'background-slices')]);
    assert.equal(background.slices.length, 10);
    for (const slice of [...lesionSlices.slices, ...background.slices] as SliceEntry[]) {
      assert.equal(slice.width, 512);
      assert.equal(slice.height, 512);
      checkBoxes(slice);
    }
  },
);

test(
  'bundled detector finds the case-01 lesion',
  { skip: !bundled && 'models/detector.onnx is absent' },
  () => {
    const document = detectJson(['--case', sharedPath('data', 'real-ct', 'cases', 'case-01')]);
    const slices = document.slices as SliceEntry[];
    assert.equal(slices.length, 59);
    assert.deepEqual(
      slices.map((slice) => basename(slice.file)),
      slices.map((_, index) => `${index}.jpg`),
      'numeric slice order',
    );
    assert.deepEqual(
      slices.map((slice) => slice.sliceIndex),
      slices.map((_, index) => index),
    );
    slices.forEach(checkBoxes);

    // The case's large right-lobe lesion shows on slices 14 to 36, left of the image midline.
    const [top] = document.lesions;
    assert.ok(top, 'at least one lesion');
    const { bestSlice, bestBox } = top.phases[0];
    assert.ok(bestSlice >= 14, `best slice ${bestSlice}`);
    assert.ok(bestSlice <= 36, `best slice ${bestSlice}`);
    assert.ok((bestBox.x1 + bestBox.x2) / 2 < 256, `best box centre x ${(bestBox.x1 + bestBox.x2) / 2}`);
  },
);
