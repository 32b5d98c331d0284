import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { pixelAnchorModel } from './pixel-anchor-model.ts';
import { sharedPath } from '../helpers/shared.ts';

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['bin/lilnet.js', ...args], { encoding: 'utf8' });
}

/** Writes a 128 x 128 dark slice with bright 2 x 2 blocks at the given even coordinates. */
async function writeSlice(file: string, spots: [number, number][]): Promise<void> {
  const pixels = Buffer.alloc(128 * 128, 20);
  for (const [x, y] of spots) {
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ])
      pixels[(y + dy) * 128 + x + dx] = 250;
  }
  await sharp(pixels, { raw: { width: 128, height: 128, channels: 1 } })
    .png()
    .toFile(file);
}

test('detect prints boxes and groups a case', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-detect-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const model = join(root, 'pixel-anchor.onnx');
  writeFileSync(model, pixelAnchorModel());

  // A stack of six slices: a spot on slices 2 to 4 at (60, 40), and one on slice 0 elsewhere.
  const stack = join(root, 'stack');
  mkdirSync(stack);
  for (let slice = 0; slice < 6; slice++) {
    const spots: [number, number][] = [];
    if (slice >= 2 && slice <= 4) spots.push([60, 40]);
    if (slice === 0) spots.push([20, 100]);
    await writeSlice(join(stack, `${slice}.png`), spots);
  }

  const slices = runCli(['detect', '--model', model, '--json', stack]);
  assert.equal(slices.status, 0, slices.stderr);
  const document = JSON.parse(slices.stdout);
  assert.equal(document.model.inputSize, 64);
  assert.equal(document.model.confidenceThreshold, 0.25);
  assert.deepEqual(
    document.slices.map((slice: { file: string }) => slice.file.split('/').pop()),
    ['0.png', '1.png', '2.png', '3.png', '4.png', '5.png'],
  );
  assert.deepEqual(
    document.slices.map((slice: { boxes: unknown[] }) => slice.boxes.length),
    [1, 0, 1, 1, 1, 0],
  );
  // The 2 x 2 block at (60, 40) is centred on (61, 41); the model's 12 x 8 input-pixel box is 24 x 16 here.
  assert.deepEqual(document.slices[2].boxes[0], { x1: 49, y1: 33, x2: 73, y2: 49, score: 0.9804 });
  assert.equal(document.slices[2].width, 128);
  assert.deepEqual(document.lesions, [], 'independent slices are not grouped');

  const asCase = runCli(['detect', '--model', model, '--case', '--json', stack]);
  assert.equal(asCase.status, 0, asCase.stderr);
  const caseDocument = JSON.parse(asCase.stdout);
  assert.equal(caseDocument.lesions.length, 2);
  const [tall] = caseDocument.lesions.filter(
    (lesion: { phases: { firstSlice: number }[] }) => lesion.phases[0].firstSlice === 2,
  );
  assert.equal(tall.phases[0].lastSlice, 4);
  assert.equal(tall.maxDiameterPx, 24);
  assert.equal(tall.maxDiameterMm, null, 'slice images carry no pixel spacing');
  assert.equal(caseDocument.slices[3].sliceIndex, 3);

  const overlays = join(root, 'overlays');
  const text = runCli(['detect', '--model', model, '--overlays', overlays, join(stack, '3.png')]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /1 slices, 1 with boxes, 1 boxes/);
  assert.match(text.stdout, /\(49, 33\)-\(73, 49\) score 0\.980/);
  assert.deepEqual(readdirSync(overlays), ['3.png']);
  const overlay = await sharp(join(overlays, '3.png')).metadata();
  assert.equal(overlay.width, 128);
});

test('detect rejects bad input', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-detect-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const missingModel = runCli(['detect', '--model', join(root, 'none.onnx'), root]);
  assert.equal(missingModel.status, 1);
  assert.match(missingModel.stderr, /FILE_NOT_FOUND.*none\.onnx/);

  const model = join(root, 'pixel-anchor.onnx');
  writeFileSync(model, pixelAnchorModel());
  const badConf = runCli(['detect', '--model', model, '--conf', '2', root]);
  assert.equal(badConf.status, 1);
  assert.match(badConf.stderr, /--conf "2"/);

  const missingInput = runCli(['detect', '--model', model, join(root, 'nothing-here')]);
  assert.equal(missingInput.status, 1);
  assert.match(missingInput.stderr, /nothing-here/);
  assert.ok(!existsSync(join(root, 'nothing-here')));
});

test('detect rejects overlays under a file', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-detect-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const model = join(root, 'pixel-anchor.onnx');
  writeFileSync(model, pixelAnchorModel());
  const file = join(root, 'notes.txt');
  writeFileSync(file, '');
  const result = runCli(['detect', '--model', model, '--overlays', join(file, 'overlays'), root]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /OUTPUT_FOLDER_FAILED.*notes\.txt\/overlays: a file is in the way/);
  assert.match(result.stderr, /pass --overlays a folder you can write to/);
  assert.doesNotMatch(result.stderr, /unexpected error|"stack"/);
});

test('detect warns on MR and SEG series', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-detect-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const model = join(root, 'pixel-anchor.onnx');
  writeFileSync(model, pixelAnchorModel());
  const mr = runCli(['detect', '--model', model, '--json', sharedPath('fixtures', 'dicom', 'MR_small.dcm')]);
  assert.equal(mr.status, 0, mr.stderr);
  assert.match(
    mr.stderr,
    /lilnet detect: warning: series .*: its modality is MR, not CT; the detector was trained on CT slices/,
  );
  assert.ok(JSON.parse(mr.stdout).warnings.some((warning: string) => warning.includes('modality is MR')));

  const segmentation = runCli([
    'detect',
    '--model',
    model,
    sharedPath('fixtures', 'dicom', 'liver_1frame.dcm'),
  ]);
  assert.equal(segmentation.status, 0, segmentation.stderr);
  assert.match(segmentation.stderr, /its modality is SEG, not CT/);

  const ct = runCli(['detect', '--model', model, sharedPath('fixtures', 'dicom', 'CT_small.dcm')]);
  assert.equal(ct.status, 0, ct.stderr);
  assert.doesNotMatch(ct.stderr, /not CT/);
});
