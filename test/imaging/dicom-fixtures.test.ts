import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDicomFile, type DicomImage } from '../../src/imaging/dicom/read-file.ts';
import { readCase } from '../../src/imaging/read-case.ts';
import { isLilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

interface Expected {
  modality?: string;
  transfer_syntax?: string;
  rows?: number | null;
  columns?: number | null;
  frames?: number;
  bits_stored?: number | null;
  pixel_representation?: number | null;
  rescale_slope?: number;
  rescale_intercept?: number;
  stored_min?: number;
  stored_max?: number;
  stored_mean?: number;
  rescaled_min?: number;
  rescaled_max?: number;
  rescaled_mean?: number;
  stored_sha256_int32_le?: string;
  pixel_decode_by_reference?: string;
  readable_by_reference?: boolean;
}

const FIXTURES = sharedPath('fixtures', 'dicom');
const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, 'expected-by-pydicom.json'), 'utf8')) as Record<
  string,
  Expected
>;

function statistics(image: DicomImage): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (const frame of image.frames) {
    for (const value of frame.values) {
      if (value < min) min = value;
      if (value > max) max = value;
      sum += value;
      count++;
    }
  }
  return { min, max, mean: sum / count };
}

/** SHA-256 of the stored values as little-endian int32, the digest the reference file records. */
function storedDigest(image: DicomImage): string {
  const { rescaleSlope, rescaleIntercept } = image.attributes;
  const all = image.frames.flatMap((frame) => Array.from(frame.values));
  const stored = Int32Array.from(all, (value) => Math.round((value - rescaleIntercept) / rescaleSlope));
  return createHash('sha256').update(new Uint8Array(stored.buffer)).digest('hex');
}

const decodable = Object.entries(EXPECTED).filter(
  ([name, expected]) => name.endsWith('.dcm') && expected.rescaled_mean !== undefined,
);

for (const [name, expected] of decodable) {
  test(`${name} matches pydicom`, async () => {
    const image = await readDicomFile(join(FIXTURES, name));
    assert.equal(image.transferSyntaxUid, expected.transfer_syntax);
    assert.equal(image.attributes.modality, expected.modality);
    assert.equal(image.attributes.columns, expected.columns);
    assert.equal(image.attributes.rows, expected.rows);
    assert.equal(image.attributes.numberOfFrames, expected.frames);
    assert.equal(image.attributes.rescaleSlope, expected.rescale_slope);
    assert.equal(image.attributes.rescaleIntercept, expected.rescale_intercept);
    const { min, max, mean } = statistics(image);
    assert.equal(min, expected.rescaled_min);
    assert.equal(max, expected.rescaled_max);
    assert.ok(Math.abs(mean - expected.rescaled_mean!) < 1e-3, `mean ${mean} vs ${expected.rescaled_mean}`);
    assert.equal(storedDigest(image), expected.stored_sha256_int32_le);
  });
}

test('lossless MR variants equal MR_small pixels', async () => {
  const reference = await readDicomFile(join(FIXTURES, 'MR_small.dcm'));
  const variants = readdirSync(FIXTURES).filter((name) => name.startsWith('MR_small_'));
  assert.equal(variants.length, 5);
  for (const name of variants) {
    const image = await readDicomFile(join(FIXTURES, name));
    assert.deepEqual(image.frames[0].values, reference.frames[0].values, `${name} differs from MR_small.dcm`);
  }
});

test('J2K signedness mismatch corrected to pydicom values', async () => {
  const image = await readDicomFile(join(FIXTURES, 'J2K_pixelrep_mismatch.dcm'));
  const { mean } = statistics(image);
  assert.ok(Math.abs(mean - -658.4368) < 1e-3, `mean ${mean}`);
  assert.ok(image.warnings.some((warning) => /JPEG 2000 stream is unsigned 13-bit/.test(warning)));
});

test('12-bit JPEG extended decodes within 12 bits', async () => {
  // pydicom cannot decode this syntax, so there is no reference digest: check range and that both files agree.
  const extended = await readDicomFile(join(FIXTURES, 'JPGExtended.dcm'));
  const lossy = await readDicomFile(join(FIXTURES, 'JPEG-lossy.dcm'));
  assert.equal(extended.transferSyntaxUid, '1.2.840.10008.1.2.4.51');
  const { min, max, mean } = statistics(extended);
  assert.ok(min >= 0, `min ${min}`);
  assert.ok(max <= 4095, `max ${max}`);
  assert.ok(max > 255, `max ${max} fits 8 bits: the 12-bit precision was lost`);
  assert.ok(mean > 0, `mean ${mean}`);
  assert.deepEqual(lossy.frames[0].values, extended.frames[0].values);
});

test('no_meta.dcm reads like CT_small', async () => {
  const bare = await readDicomFile(join(FIXTURES, 'no_meta.dcm'));
  const reference = await readDicomFile(join(FIXTURES, 'CT_small.dcm'));
  assert.equal(bare.unit, 'HU');
  assert.deepEqual(bare.frames[0].values, reference.frames[0].values);
  assert.ok(bare.warnings.some((warning) => /no file meta information/.test(warning)));
});

test('DICOM SEG reads as a label mask', async () => {
  const image = await readDicomFile(join(FIXTURES, 'liver_1frame.dcm'));
  assert.equal(image.unit, 'label');
  assert.equal(image.frames.length, 1);
  const labels = new Set(image.frames[0].values);
  assert.deepEqual([...labels].sort(), [0, 1]);
  assert.ok(Math.abs(statistics(image).mean - 0.1382) < 1e-4);
  assert.ok(image.frames[0].positionMm, 'SEG frame position comes from the per-frame functional groups');
});

test('truncated RT plan is rejected clearly', async () => {
  const file = join(FIXTURES, 'rtplan_truncated.dcm');
  await assert.rejects(readDicomFile(file), (error: unknown) => {
    assert.ok(isLilnetError(error));
    assert.equal(error.code, 'DICOM_INVALID');
    assert.equal(error.file, file);
    assert.match(error.message, /rtplan_truncated\.dcm/);
    assert.match(error.message, /RTPLAN, not an image/);
    assert.match(error.message, /truncated/);
    return true;
  });
});

test('ct-series-5-slices ordered by position', async () => {
  const expected = EXPECTED['ct-series-5-slices'] as unknown as {
    order_by_position_along_normal_ascending: string[];
    positions: number[];
  };
  const ctCase = await readCase(join(FIXTURES, 'ct-series-5-slices'));
  assert.equal(ctCase.series.length, 1);
  const [series] = ctCase.series;
  const order = series.sliceFiles.map((file) => file.split('/').pop());
  assert.deepEqual(order, expected.order_by_position_along_normal_ascending);
  assert.deepEqual(series.geometry.dimensions, [16, 16, 5]);
  assert.ok(
    Math.abs(series.geometry.spacingMm[2] - 2.5) < 1e-6,
    `slice spacing ${series.geometry.spacingMm[2]}`,
  );
  assert.equal(series.unit, 'HU');
  assert.deepEqual(series.warnings, []);
});

test('fixture folder reports the RT plan as failed', async () => {
  const ctCase = await readCase(FIXTURES);
  assert.deepEqual(
    ctCase.failedFiles.map((failure) => failure.file.split('/').pop()),
    ['rtplan_truncated.dcm'],
  );
  assert.ok(ctCase.series.length >= 5);
});
