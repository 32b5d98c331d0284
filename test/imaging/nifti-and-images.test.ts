import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import { readNiftiFile } from '../../src/imaging/nifti.ts';
import { readCase, readSliceImage } from '../../src/imaging/read-case.ts';
import { orderSliceFiles } from '../../src/imaging/slice-images.ts';
import { isLilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-nifti-images-'));
after(() => rm(root, { recursive: true, force: true }));

const DT_UINT16 = 512;
const DT_INT16 = 4;
const DT_FLOAT32 = 16;

interface NiftiSpec {
  dims: [number, number, number];
  datatype: number;
  data: Int16Array | Uint16Array | Float32Array;
  slope: number;
  intercept: number;
  /** sform rows in RAS: srow_x, srow_y, srow_z. */
  sform: [number[], number[], number[]];
}

/** Writes a NIfTI-1 single file (348-byte header, 4 extension bytes, voxels at offset 352). */
function nifti1(spec: NiftiSpec): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(3, 40);
  spec.dims.forEach((value, index) => header.writeInt16LE(value, 42 + index * 2));
  header.writeInt16LE(spec.datatype, 70);
  header.writeInt16LE(spec.data.BYTES_PER_ELEMENT * 8, 72);
  header.writeFloatLE(1, 76);
  spec.sform.forEach((row, index) =>
    header.writeFloatLE(Math.hypot(row[0], row[1], row[2]) || 1, 80 + index * 4),
  );
  header.writeFloatLE(352, 108);
  header.writeFloatLE(spec.slope, 112);
  header.writeFloatLE(spec.intercept, 116);
  header.writeInt16LE(0, 252);
  header.writeInt16LE(1, 254);
  spec.sform.forEach((row, rowIndex) =>
    row.forEach((value, index) => header.writeFloatLE(value, 280 + (rowIndex * 4 + index) * 4)),
  );
  header.write('n+1\0', 344, 'latin1');
  return Buffer.concat([header, Buffer.from(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength)]);
}

/** Writes a NIfTI-2 single file (540-byte header, 4 extension bytes, voxels at offset 544). */
function nifti2(spec: NiftiSpec): Buffer {
  const header = Buffer.alloc(544);
  header.writeInt32LE(540, 0);
  header.write('n+2\0\r\n\x1a\n', 4, 'latin1');
  header.writeInt16LE(spec.datatype, 12);
  header.writeInt16LE(spec.data.BYTES_PER_ELEMENT * 8, 14);
  header.writeBigInt64LE(3n, 16);
  spec.dims.forEach((value, index) => header.writeBigInt64LE(BigInt(value), 24 + index * 8));
  header.writeDoubleLE(1, 104);
  spec.sform.forEach((row, index) =>
    header.writeDoubleLE(Math.hypot(row[0], row[1], row[2]) || 1, 112 + index * 8),
  );
  header.writeBigInt64LE(544n, 168);
  header.writeDoubleLE(spec.slope, 176);
  header.writeDoubleLE(spec.intercept, 184);
  header.writeInt32LE(0, 344);
  header.writeInt32LE(1, 348);
  spec.sform.forEach((row, rowIndex) =>
    row.forEach((value, index) => header.writeDoubleLE(value, 400 + (rowIndex * 4 + index) * 8)),
  );
  return Buffer.concat([header, Buffer.from(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength)]);
}

const DIMS: [number, number, number] = [4, 3, 2];
const SFORM: NiftiSpec['sform'] = [
  [-0.7, 0, 0, 10],
  [0, -0.8, 0, 20],
  [0, 0, 2.5, -30],
];

test('NIfTI-1 slope 0 means no scaling', async () => {
  const data = Int16Array.from({ length: 24 }, (_, i) => -1000 + i * 50);
  const file = join(root, 'plain.nii');
  await writeFile(
    file,
    nifti1({ dims: DIMS, datatype: DT_INT16, data, slope: 0, intercept: 500, sform: SFORM }),
  );
  const series = await readNiftiFile(file);
  assert.deepEqual(Array.from(series.voxels), Array.from(data));
  assert.equal(series.unit, 'HU');
  assert.deepEqual(series.geometry.dimensions, DIMS);
  const spacing = series.geometry.spacingMm.map((value) => Number(value.toFixed(5)));
  assert.deepEqual(spacing, [0.7, 0.8, 2.5]);
  assert.deepEqual(series.geometry.originMm, [-10, -20, -30]);
  assert.deepEqual(series.geometry.direction.row, [1, 0, 0]);
  assert.deepEqual(series.geometry.direction.column, [0, 1, 0]);
  assert.deepEqual(series.geometry.direction.slice, [0, 0, 1]);
});

test('NIfTI-1 gzip applies slope and intercept', async () => {
  const data = Uint16Array.from({ length: 24 }, (_, i) => i * 40);
  const file = join(root, 'scaled.nii.gz');
  await writeFile(
    file,
    gzipSync(nifti1({ dims: DIMS, datatype: DT_UINT16, data, slope: 2, intercept: -1024, sform: SFORM })),
  );
  const series = await readNiftiFile(file);
  assert.deepEqual(
    Array.from(series.voxels),
    Array.from(data, (value) => value * 2 - 1024),
  );
});

test('NIfTI-2 float voxels', async () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => -900.5 + i * 12.25);
  const file = join(root, 'float.nii');
  await writeFile(
    file,
    nifti2({ dims: DIMS, datatype: DT_FLOAT32, data, slope: 1, intercept: 0, sform: SFORM }),
  );
  const series = await readNiftiFile(file);
  assert.deepEqual(Array.from(series.voxels), Array.from(data));
  assert.deepEqual(series.geometry.dimensions, DIMS);
  assert.deepEqual(series.geometry.originMm, [-10, -20, -30]);
});

test('truncated NIfTI is rejected', async () => {
  const data = Int16Array.from({ length: 24 }, (_, i) => i);
  const full = nifti1({ dims: DIMS, datatype: DT_INT16, data, slope: 1, intercept: 0, sform: SFORM });
  const file = join(root, 'cut.nii');
  await writeFile(file, full.subarray(0, full.length - 10));
  await assert.rejects(readNiftiFile(file), (error: unknown) => {
    assert.ok(isLilnetError(error));
    assert.equal(error.code, 'NIFTI_INVALID');
    assert.match(error.message, /cut\.nii/);
    return true;
  });
});

/** Writes a BMP: 8-bit grey palette or 24-bit BGR, bottom-up unless `topDown`. */
function bmp(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
  bits: 8 | 24,
  topDown = false,
): Buffer {
  const rowBytes = Math.ceil((width * bits) / 32) * 4;
  const paletteBytes = bits === 8 ? 256 * 4 : 0;
  const offset = 54 + paletteBytes;
  const file = Buffer.alloc(offset + rowBytes * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(topDown ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bits, 28);
  if (bits === 8) for (let i = 0; i < 256; i++) file.writeUInt32LE(i * 0x010101, 54 + i * 4);
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      if (bits === 8) file[row + x] = r;
      else file.set([b, g, r], row + x * 3);
    }
  }
  return file;
}

test('BMP 8-bit palette and 24-bit decode', async () => {
  const grey = (x: number, y: number): [number, number, number] => [x * 10 + y, x * 10 + y, x * 10 + y];
  const cases = [
    { name: 'grey8.bmp', bytes: bmp(5, 3, grey, 8) },
    { name: 'grey24-top-down.bmp', bytes: bmp(5, 3, grey, 24, true) },
  ];
  for (const { name, bytes } of cases) {
    const file = join(root, name);
    await writeFile(file, bytes);
    const series = await readSliceImage(file);
    assert.equal(series.unit, 'grey', name);
    assert.deepEqual(series.geometry.dimensions, [5, 3, 1], name);
    const expected = Array.from({ length: 15 }, (_, i) => (i % 5) * 10 + Math.floor(i / 5));
    assert.deepEqual(Array.from(series.voxels), expected, name);
  }
  const colourFile = join(root, 'colour.bmp');
  await writeFile(
    colourFile,
    bmp(2, 1, () => [200, 100, 0], 24),
  );
  const colour = await readSliceImage(colourFile);
  assert.ok(Math.abs(colour.voxels[0] - (0.299 * 200 + 0.587 * 100)) < 1e-3);
  assert.ok(colour.warnings.some((warning) => /colour slice/.test(warning)));
});

test('RLE BMP is rejected', async () => {
  const bytes = bmp(2, 2, () => [1, 1, 1], 8);
  bytes.writeUInt32LE(1, 30);
  const file = join(root, 'rle.bmp');
  await writeFile(file, bytes);
  await assert.rejects(readSliceImage(file), /compression 1/);
});

function png16(width: number, values: number[]): Buffer {
  const png = new pngjs.PNG({
    width,
    height: values.length / width,
    bitDepth: 16,
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
  } as pngjs.PNGOptions);
  png.data = Buffer.from(Uint16Array.from(values).buffer);
  return pngjs.PNG.sync.write(png, {
    bitDepth: 16,
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
  } as pngjs.PNGOptions);
}

test('16-bit PNG keeps its values', async () => {
  const file = join(root, 'deep.png');
  const values = [0, 1000, 40000, 65535, 5, 7];
  await writeFile(file, png16(3, values));
  const series = await readSliceImage(file);
  assert.deepEqual(Array.from(series.voxels), values);
  assert.equal(series.unit, 'grey');
  assert.ok(series.warnings.some((warning) => /16-bit slice images/.test(warning)));
});

test('numeric file names order slices', async () => {
  const folder = join(root, 'numeric');
  await mkdir(folder);
  for (let index = 0; index <= 11; index++)
    await writeFile(join(folder, `${index}.png`), png16(2, [index, index]));
  const [series] = (await readCase(folder)).series;
  assert.deepEqual(
    series.sliceFiles.map((file) => basename(file)),
    Array.from({ length: 12 }, (_, index) => `${index}.png`),
  );
  for (let z = 0; z <= 11; z++) assert.equal(series.voxels[z * 2], z);
});

test('natural order for mixed names', () => {
  assert.deepEqual(orderSliceFiles(['/a/s10.png', '/a/s2.png', '/a/s1.png']), [
    '/a/s1.png',
    '/a/s2.png',
    '/a/s10.png',
  ]);
  assert.deepEqual(orderSliceFiles(['/a/10.jpg', '/a/9.jpg', '/a/100.jpg']), [
    '/a/9.jpg',
    '/a/10.jpg',
    '/a/100.jpg',
  ]);
});

test('slice of another size goes to failedFiles', async () => {
  const folder = join(root, 'mixed-size');
  await mkdir(folder);
  await writeFile(join(folder, '0.png'), png16(2, [1, 2]));
  await writeFile(join(folder, '1.png'), png16(2, [3, 4]));
  await writeFile(join(folder, '2.png'), png16(3, [5, 6, 7]));
  const ctCase = await readCase(folder);
  assert.deepEqual(ctCase.series[0].geometry.dimensions, [2, 1, 2]);
  assert.equal(ctCase.failedFiles.length, 1);
  assert.match(ctCase.failedFiles[0].reason, /2\.png is 3 x 1, unlike the 2 x 1 slices/);
});

test('phase folders of slice images', async () => {
  const patient = join(root, 'patient-07');
  for (const [folder, value] of [
    ['CT', 10],
    ['AP', 20],
    ['PVP', 30],
  ] as const) {
    await mkdir(join(patient, folder), { recursive: true });
    for (let index = 0; index < 3; index++) {
      await writeFile(join(patient, folder, `${index}.png`), png16(2, [value + index, value + index]));
    }
  }
  const ctCase = await readCase(patient);
  const phases = ctCase.series
    .map((series) => `${series.phase}:${series.phaseSource}:${series.voxels[0]}`)
    .sort();
  assert.deepEqual(phases, ['AP:folder-name:20', 'NC:folder-name:10', 'PVP:folder-name:30']);
  assert.ok(ctCase.warnings.includes('missing phases: DP'));
  assert.ok(ctCase.series.every((series) => series.unit === 'grey'));
});

test('slice images without extension are found', async () => {
  const folder = join(root, 'no-extension');
  await mkdir(folder);
  for (const index of [0, 1, 2, 10]) {
    await copyFile(
      sharedPath('data', 'real-ct', 'cases', 'case-02', `${index}.jpg`),
      join(folder, String(index)),
    );
  }
  const ctCase = await readCase(folder);
  assert.deepEqual(ctCase.failedFiles, []);
  assert.equal(ctCase.series.length, 1);
  assert.equal(ctCase.series[0].unit, 'grey');
  assert.deepEqual(
    ctCase.series[0].sliceFiles.map((file) => basename(file)),
    ['0', '1', '2', '10'],
  );
});
