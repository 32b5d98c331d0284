import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNiftiFile } from '../../src/imaging/nifti.ts';
import { readDicomFile } from '../../src/imaging/dicom/read-file.ts';
import { readSliceImage } from '../../src/imaging/read-case.ts';
import { isLilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-damaged-'));
after(() => rm(root, { recursive: true, force: true }));

/** Writes a 4 x 4 x 2 NIfTI-1 single file with int16 or float32 voxels after a 352-byte header. */
function nifti1(voxels: Int16Array | Float32Array, voxelOffset = 352): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  [3, 4, 4, 2, 1, 1, 1, 1].forEach((value, index) => header.writeInt16LE(value, 40 + index * 2));
  header.writeInt16LE(voxels instanceof Float32Array ? 16 : 4, 70);
  header.writeInt16LE(voxels.BYTES_PER_ELEMENT * 8, 72);
  [1, 0.8, 0.8, 5].forEach((value, index) => header.writeFloatLE(value, 76 + index * 4));
  header.writeFloatLE(voxelOffset, 108);
  header.writeFloatLE(1, 112);
  header.write('n+1\0', 344, 'latin1');
  return Buffer.concat([header, Buffer.from(voxels.buffer, voxels.byteOffset, voxels.byteLength)]);
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isLilnetError(error), `expected a LilnetError, got ${String(error)}`);
    return { code: error.code, message: error.message };
  }
  assert.fail('expected the read to be rejected');
}

test('empty NIfTI file is rejected', async () => {
  const file = join(root, 'empty.nii');
  await writeFile(file, Buffer.alloc(0));
  const error = await rejection(readNiftiFile(file));
  assert.equal(error.code, 'NIFTI_INVALID');
  assert.match(error.message, /empty\.nii/);
  assert.match(error.message, /empty \(0 bytes\)/);
});

test('NIfTI vox_offset inside header is rejected', async () => {
  const file = join(root, 'negative-offset.nii');
  await writeFile(file, nifti1(new Int16Array(32), -100));
  const error = await rejection(readNiftiFile(file));
  assert.equal(error.code, 'NIFTI_INVALID');
  assert.match(error.message, /vox_offset -100/);
});

test('NIfTI vox_offset past the end is rejected', async () => {
  const file = join(root, 'far-offset.nii');
  await writeFile(file, nifti1(new Int16Array(32), 1e6));
  const error = await rejection(readNiftiFile(file));
  assert.equal(error.code, 'NIFTI_INVALID');
  assert.match(error.message, /vox_offset 1000000/);
  assert.match(error.message, /truncated/);
});

test('NIfTI NaN voxels become the lowest value', async () => {
  const values = Float32Array.from({ length: 32 }, (_, i) => -1000 + i);
  values[3] = Number.NaN;
  values[7] = Number.POSITIVE_INFINITY;
  values[9] = Number.NEGATIVE_INFINITY;
  const file = join(root, 'nan.nii');
  await writeFile(file, nifti1(values));
  const series = await readNiftiFile(file);
  assert.ok(series.voxels.every(Number.isFinite), 'every voxel is a finite number');
  assert.equal(series.voxels[3], -1000);
  assert.equal(series.voxels[7], -1000);
  assert.equal(series.voxels[9], -1000);
  assert.equal(series.voxels[10], -990);
  assert.ok(series.warnings.some((warning) => /3 NaN or infinite voxel\(s\)/.test(warning)));
});

test('DICOM image cut before pixels is an image', async () => {
  const bytes = await readFile(sharedPath('fixtures', 'dicom', 'JPEG2000.dcm'));
  const file = join(root, 'cut-before-pixels.dcm');
  await writeFile(file, bytes.subarray(0, 3000));
  const error = await rejection(readDicomFile(file));
  assert.equal(error.code, 'DICOM_INVALID');
  assert.doesNotMatch(error.message, /not an image/);
  assert.match(error.message, /Modality NM, cut off before its pixel data/);
  assert.match(error.message, /truncated/);
});

test('truncated PNG names the cut', async () => {
  const bytes = await readFile(sharedPath('fixtures', 'lilnet-reference', 'crops', 'crop-01.png'));
  const file = join(root, 'cut.png');
  await writeFile(file, bytes.subarray(0, 3000));
  const error = await rejection(readSliceImage(file));
  assert.equal(error.code, 'IMAGE_INVALID');
  assert.match(error.message, /cut\.png/);
  assert.match(error.message, /after 3000 bytes: it is truncated/);
});

test('intact PNG still reads', async () => {
  const file = join(root, 'intact.png');
  await copyFile(sharedPath('fixtures', 'lilnet-reference', 'crops', 'crop-01.png'), file);
  const series = await readSliceImage(file);
  assert.deepEqual(series.geometry.dimensions, [160, 160, 1]);
});

test('BMP cut inside its header', async () => {
  const file = join(root, 'cut-header.bmp');
  const header = Buffer.alloc(20);
  header.write('BM', 0, 'latin1');
  await writeFile(file, header);
  const error = await rejection(readSliceImage(file));
  assert.equal(error.code, 'IMAGE_INVALID');
  assert.doesNotMatch(error.message, /no "BM" signature/);
  assert.match(error.message, /ends after 20 bytes, inside the 54-byte header: it is truncated/);
});
