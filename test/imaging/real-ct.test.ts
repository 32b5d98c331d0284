import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { readCase, readSliceImage } from '../../src/imaging/read-case.ts';
import { sliceView } from '../../src/imaging/volume.ts';
import { sharedPath } from '../helpers/shared.ts';

const CASES = sharedPath('data', 'real-ct', 'cases');

/** Decodes a JPEG with sharp directly, as an independent check of which file became which slice. */
async function firstChannel(file: string): Promise<Float32Array> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const values = new Float32Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
  return values;
}

for (const [name, slices] of [
  ['case-01', 59],
  ['case-02', 47],
] as const) {
  test(`${name} reads in numeric slice order as grey`, async () => {
    const ctCase = await readCase(join(CASES, name));
    assert.deepEqual(ctCase.failedFiles, []);
    assert.equal(ctCase.series.length, 1);
    const [series] = ctCase.series;
    assert.equal(series.unit, 'grey');
    assert.deepEqual(series.geometry.dimensions, [512, 512, slices]);
    assert.equal(series.geometry.spacingKnown, false);
    assert.deepEqual(
      series.sliceFiles.map((file) => basename(file)),
      Array.from({ length: slices }, (_, index) => `${index}.jpg`),
    );
    assert.ok(series.warnings.some((warning) => /not Hounsfield units/.test(warning)));
    for (const z of [2, 10]) {
      const expected = await firstChannel(join(CASES, name, `${z}.jpg`));
      assert.deepEqual(sliceView(series, z), expected, `slice ${z} is not ${z}.jpg`);
    }
    let min = Infinity;
    let max = -Infinity;
    for (const value of series.voxels) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    assert.ok(min >= 0, `grey minimum ${min}`);
    assert.ok(max <= 255, `grey maximum ${max}`);
  });
}

test('lesion slices read as single images', async () => {
  const folder = sharedPath('data', 'real-ct', 'lesion-slices');
  const files = readdirSync(folder).filter((file) => /\.(jpe?g|png)$/i.test(file));
  assert.ok(files.length > 50);
  for (const file of files) {
    const series = await readSliceImage(join(folder, file));
    assert.equal(series.unit, 'grey', file);
    assert.equal(series.geometry.dimensions[2], 1, file);
    assert.equal(series.geometry.dimensions[0], 512, file);
    assert.equal(series.geometry.dimensions[1], 512, file);
  }
});

test('lesion slice phase from file name', async () => {
  const folder = sharedPath('data', 'real-ct', 'lesion-slices');
  const arterial = await readCase(join(folder, 'p01-ap-01.jpg'));
  assert.equal(arterial.series[0].phase, 'AP');
  assert.equal(arterial.series[0].phaseSource, 'file-name');
  const plain = await readCase(join(folder, 'p01-nc-01.jpg'));
  assert.equal(plain.series[0].phase, 'NC');
  const unknown = await readCase(join(folder, 'p03-unknown-01.png'));
  assert.equal(unknown.series[0].phase, 'unknown');
});

test('background slices read as single images', async () => {
  const folder = sharedPath('data', 'real-ct', 'background-slices');
  const files = readdirSync(folder).filter((file) => /\.(jpe?g|png)$/i.test(file));
  assert.equal(files.length, 10);
  for (const file of files) {
    const series = await readSliceImage(join(folder, file));
    assert.equal(series.unit, 'grey', file);
    assert.deepEqual(series.geometry.dimensions, [512, 512, 1], file);
  }
});
