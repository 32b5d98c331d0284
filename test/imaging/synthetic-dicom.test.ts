import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeCtSeriesDicom, type CtSeriesDicomInput } from '../../src/imaging/dicom/writer.ts';
import { readDicomFile } from '../../src/imaging/dicom/read-file.ts';
import { readCase } from '../../src/imaging/read-case.ts';
import {
  encodeElements,
  stringElement,
  uint32Element,
  bytesElement,
} from '../../src/imaging/dicom/encode.ts';
import { isLilnetError } from '../../src/errors.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-synthetic-dicom-'));
after(() => rm(root, { recursive: true, force: true }));

let folderCount = 0;
function newFolder(): string {
  folderCount++;
  return join(root, `series-${folderCount}`);
}

const COLUMNS = 8;
const ROWS = 6;

/** Builds a ramp of HU values with a distinct offset per slice, so slice order is visible in the values. */
function rampHu(slices: number): Float32Array {
  const values = new Float32Array(COLUMNS * ROWS * slices);
  for (let z = 0; z < slices; z++) {
    for (let i = 0; i < COLUMNS * ROWS; i++) values[z * COLUMNS * ROWS + i] = -1000 + z * 100 + i * 10;
  }
  return values;
}

function baseInput(slices: number, extra: Partial<CtSeriesDicomInput> = {}): CtSeriesDicomInput {
  return {
    patientId: 'SYNTH-001',
    patientName: 'SYNTHETIC^PHANTOM',
    columns: COLUMNS,
    rows: ROWS,
    slices,
    hounsfieldUnits: rampHu(slices),
    pixelSpacingMm: [0.7, 0.8],
    sliceSpacingMm: 2.5,
    ...extra,
  };
}

test('odd rescale slope round-trips HU', async () => {
  const input = baseInput(3, { rescaleSlope: 0.37, rescaleIntercept: -1024.25, pixelRepresentation: 0 });
  const files = await writeCtSeriesDicom(newFolder(), input);
  const image = await readDicomFile(files[1]);
  assert.equal(image.attributes.rescaleSlope, 0.37);
  assert.equal(image.attributes.rescaleIntercept, -1024.25);
  const expected = rampHu(3).subarray(COLUMNS * ROWS, 2 * COLUMNS * ROWS);
  for (let i = 0; i < expected.length; i++) {
    // Quantization to stored integers loses at most half a slope step.
    assert.ok(Math.abs(image.frames[0].values[i] - expected[i]) <= 0.37 / 2 + 1e-4, `voxel ${i}`);
  }
});

test('signed 12-bit values are sign-extended', async () => {
  const stored = new Int16Array(COLUMNS * ROWS).map((_, i) => -2048 + i * 85);
  const files = await writeCtSeriesDicom(newFolder(), {
    ...baseInput(1),
    hounsfieldUnits: undefined,
    storedValues: stored,
    bitsStored: 12,
    pixelRepresentation: 1,
    rescaleIntercept: 0,
  });
  const image = await readDicomFile(files[0]);
  assert.equal(image.attributes.bitsStored, 12);
  assert.deepEqual(Array.from(image.frames[0].values), Array.from(stored));
});

test('padding voxels become the lowest value', async () => {
  const stored = new Int16Array(COLUMNS * ROWS).map((_, i) => (i < 10 ? -2000 : i * 10));
  const files = await writeCtSeriesDicom(newFolder(), {
    ...baseInput(1),
    hounsfieldUnits: undefined,
    storedValues: stored,
    pixelPaddingValue: -2000,
    rescaleIntercept: -1024,
  });
  const image = await readDicomFile(files[0]);
  const values = image.frames[0].values;
  const lowest = 10 * 10 - 1024;
  for (let i = 0; i < 10; i++) assert.equal(values[i], lowest, `padding voxel ${i}`);
  assert.equal(values[10], lowest);
  assert.ok(image.warnings.some((warning) => /10 padding voxel/.test(warning)));
});

test('shuffled InstanceNumber still sorts by position', async () => {
  const folder = newFolder();
  await writeCtSeriesDicom(
    folder,
    baseInput(4, { instanceNumbers: [3, 1, 4, 2], fileNames: ['d.dcm', 'b.dcm', 'a.dcm', 'c.dcm'] }),
  );
  const [series] = (await readCase(folder)).series;
  assert.deepEqual(
    series.sliceFiles.map((file) => basename(file)),
    ['d.dcm', 'b.dcm', 'a.dcm', 'c.dcm'],
  );
  assert.equal(series.voxels[COLUMNS * ROWS], -900, 'slice 1 holds the second written slice');
  assert.deepEqual(series.geometry.spacingMm, [0.7, 0.8, 2.5]);
  assert.deepEqual(series.geometry.originMm, [0, 0, 0]);
});

test('slice gap is reported', async () => {
  const folder = newFolder();
  const positions: [number, number, number][] = [
    [0, 0, 0],
    [0, 0, 2.5],
    [0, 0, 5],
    [0, 0, 12.5],
    [0, 0, 15],
  ];
  await writeCtSeriesDicom(folder, baseInput(5, { imagePositionsMm: positions }));
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.spacingMm[2], 2.5);
  assert.ok(
    series.warnings.some((warning) =>
      /slice gaps .*7\.50 mm between slice-0003\.dcm and slice-0004\.dcm/.test(warning),
    ),
    series.warnings.join('\n'),
  );
});

test('duplicate position keeps one slice', async () => {
  const folder = newFolder();
  await writeCtSeriesDicom(
    folder,
    baseInput(3, {
      imagePositionsMm: [
        [0, 0, 0],
        [0, 0, 2.5],
        [0, 0, 2.5],
      ],
    }),
  );
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.dimensions[2], 2);
  assert.ok(series.warnings.some((warning) => /duplicate slice positions: 1 slice/.test(warning)));
});

test('gantry tilt is reported and followed', async () => {
  const folder = newFolder();
  // Slices 2.5 mm apart along z, each shifted 0.5 mm in y: a shear of atan(0.5 / 2.5) = 11.3 degrees.
  const positions = Array.from({ length: 4 }, (_, z) => [0, 0.5 * z, 2.5 * z] as [number, number, number]);
  await writeCtSeriesDicom(folder, baseInput(4, { imagePositionsMm: positions, gantryTiltDeg: 11.3 }));
  const [series] = (await readCase(folder)).series;
  assert.ok(
    series.warnings.some((warning) => /gantry tilt: slices are sheared by 11\.3 degrees/.test(warning)),
    series.warnings.join('\n'),
  );
  const [x, y, z] = series.geometry.direction.slice;
  assert.ok(Math.abs(x) < 1e-9);
  assert.ok(Math.abs(y - 0.5 / Math.hypot(0.5, 2.5)) < 1e-6);
  assert.ok(Math.abs(z - 2.5 / Math.hypot(0.5, 2.5)) < 1e-6);
  assert.ok(Math.abs(series.geometry.spacingMm[2] - Math.hypot(0.5, 2.5)) < 1e-6);
});

test('localizer and other orientation left out', async () => {
  const folder = newFolder();
  const studyInstanceUid = '2.25.1';
  const seriesInstanceUid = '2.25.2';
  await writeCtSeriesDicom(join(folder, 'axial'), baseInput(3, { studyInstanceUid, seriesInstanceUid }));
  await writeCtSeriesDicom(join(folder, 'scout'), {
    ...baseInput(1, { studyInstanceUid, seriesInstanceUid }),
    imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'],
    orientation: [1, 0, 0, 0, 0, -1],
    fileNames: ['scout.dcm'],
  });
  await writeCtSeriesDicom(join(folder, 'coronal'), {
    ...baseInput(1, { studyInstanceUid, seriesInstanceUid }),
    orientation: [1, 0, 0, 0, 0, -1],
    fileNames: ['coronal.dcm'],
  });
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.dimensions[2], 3);
  assert.ok(series.warnings.some((warning) => /1 localizer image\(s\) left out: scout\.dcm/.test(warning)));
  assert.ok(
    series.warnings.some((warning) => /mixed orientations: 1 image\(s\).*coronal\.dcm/.test(warning)),
  );
});

test('phase subfolders and contrast timing', async () => {
  const folder = newFolder();
  const studyInstanceUid = '2.25.77';
  await writeCtSeriesDicom(join(folder, 'CT'), baseInput(2, { studyInstanceUid }));
  await writeCtSeriesDicom(
    join(folder, 'AP'),
    baseInput(2, { studyInstanceUid, contrastBolusAgent: 'IOPAMIDOL' }),
  );
  await writeCtSeriesDicom(
    join(folder, 'PVP'),
    baseInput(2, { studyInstanceUid, contrastBolusAgent: 'IOPAMIDOL' }),
  );
  const byFolder = await readCase(folder);
  assert.deepEqual(byFolder.series.map((series) => [series.phase, series.phaseSource]).sort(), [
    ['AP', 'folder-name'],
    ['NC', 'folder-name'],
    ['PVP', 'folder-name'],
  ]);
  assert.ok(byFolder.warnings.includes('missing phases: DP'));

  const timed = newFolder();
  await writeCtSeriesDicom(join(timed, 's1'), baseInput(2, { acquisitionTime: '101000' }));
  await writeCtSeriesDicom(
    join(timed, 's2'),
    baseInput(2, { contrastBolusAgent: 'IOPAMIDOL', acquisitionTime: '101410' }),
  );
  await writeCtSeriesDicom(
    join(timed, 's3'),
    baseInput(2, { contrastBolusAgent: 'IOPAMIDOL', acquisitionTime: '101335' }),
  );
  await writeCtSeriesDicom(
    join(timed, 's4'),
    baseInput(2, { contrastBolusAgent: 'IOPAMIDOL', acquisitionTime: '101700' }),
  );
  const byTime = await readCase(timed);
  const phaseOf = (name: string): string | undefined =>
    byTime.series.find((series) => series.sliceFiles[0].includes(`/${name}/`))?.phase;
  assert.equal(phaseOf('s1'), 'NC');
  assert.equal(phaseOf('s3'), 'AP');
  assert.equal(phaseOf('s2'), 'PVP');
  assert.equal(phaseOf('s4'), 'DP');

  const described = newFolder();
  await writeCtSeriesDicom(described, baseInput(2, { seriesDescription: 'Abdomen 5mm PORTAL VENOUS' }));
  const [series] = (await readCase(described)).series;
  assert.equal(series.phase, 'PVP');
  assert.equal(series.phaseSource, 'series-description');
  const mapped = await readCase(described, { phaseMapping: { 'Abdomen 5mm PORTAL VENOUS': 'DP' } });
  assert.equal(mapped.series[0].phase, 'DP');
  assert.equal(mapped.series[0].phaseSource, 'user');
});

test('unreadable file listed, rest read', async () => {
  const folder = newFolder();
  const files = await writeCtSeriesDicom(folder, baseInput(3));
  await writeFile(join(folder, 'broken.dcm'), Buffer.from('this is not a DICOM file at all'));
  const ctCase = await readCase(folder);
  assert.equal(ctCase.series.length, 1);
  assert.equal(ctCase.series[0].sliceFiles.length, files.length);
  assert.equal(ctCase.failedFiles.length, 1);
  assert.equal(basename(ctCase.failedFiles[0].file), 'broken.dcm');
  assert.match(ctCase.failedFiles[0].reason, /broken\.dcm is not DICOM/);
});

test('pydicom reads the writer output', { skip: !existsSync('/usr/bin/python3') }, async (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import pydicom'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('pydicom is not installed for /usr/bin/python3');
    return;
  }
  const files = await writeCtSeriesDicom(newFolder(), {
    ...baseInput(2, { rescaleSlope: 0.5, rescaleIntercept: -1024, pixelRepresentation: 0 }),
    bitsStored: 12,
    window: { centre: 40, width: 400 },
    seriesDescription: 'PVP',
  });
  const script = [
    'import sys, pydicom, numpy',
    'from pydicom.pixel_data_handlers.util import apply_modality_lut',
    'd = pydicom.dcmread(sys.argv[1])',
    'hu = apply_modality_lut(d.pixel_array, d).astype(float)',
    'print(d.SOPClassUID, d.file_meta.TransferSyntaxUID, d.Rows, d.Columns, float(d.WindowWidth), hu.min(), hu.max(), round(float(hu.mean()), 4))',
  ].join('\n');
  const result = spawnSync('/usr/bin/python3', ['-c', script, files[1]], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const ours = await readDicomFile(files[1]);
  const values = Array.from(ours.frames[0].values);
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const [sopClass, syntax, rows, columns, width, min, max, pyMean] = result.stdout.trim().split(' ');
  assert.equal(sopClass, '1.2.840.10008.5.1.4.1.1.2');
  assert.equal(syntax, '1.2.840.10008.1.2.1');
  assert.equal(Number(rows), ROWS);
  assert.equal(Number(columns), COLUMNS);
  assert.equal(Number(width), 400);
  assert.equal(Number(min), Math.min(...values));
  assert.equal(Number(max), Math.max(...values));
  assert.ok(Math.abs(Number(pyMean) - mean) < 1e-3, `pydicom mean ${pyMean}, lilnet ${mean}`);
});

test('DICOM without pixel data is rejected', async () => {
  // A complete, untruncated RT plan-like object: Part 10 header and a data set with no PixelData.
  const meta = encodeElements([
    bytesElement(0x00020001, 'OB', Buffer.from([0, 1])),
    stringElement(0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.481.5'),
    stringElement(0x00020003, 'UI', '2.25.5'),
    stringElement(0x00020010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const dataSet = encodeElements([
    stringElement(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.481.5'),
    stringElement(0x00080060, 'CS', 'RTPLAN'),
  ]);
  const groupLength = encodeElements([uint32Element(0x00020000, meta.length)]);
  const file = join(root, 'plan.dcm');
  await writeFile(file, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, meta, dataSet]));
  await assert.rejects(readDicomFile(file), (error: unknown) => {
    assert.ok(isLilnetError(error));
    assert.equal(error.code, 'DICOM_NOT_IMAGE');
    assert.match(error.message, /plan\.dcm \(Modality RTPLAN\) has no pixel data: it is not an image/);
    return true;
  });
});

test('majority orientation wins when minority comes first', async () => {
  const folder = newFolder();
  const seriesInstanceUid = '2.25.3';
  // The coronal image sorts first in the folder, but the three axial slices define the volume.
  await writeCtSeriesDicom(join(folder, 'a-coronal'), {
    ...baseInput(1, { seriesInstanceUid }),
    orientation: [1, 0, 0, 0, 0, -1],
    fileNames: ['coronal.dcm'],
  });
  await writeCtSeriesDicom(join(folder, 'b-axial'), baseInput(3, { seriesInstanceUid }));
  const [series] = (await readCase(folder)).series;
  assert.equal(series.geometry.dimensions[2], 3);
  assert.deepEqual(series.geometry.direction.column, [0, 1, 0]);
  assert.ok(
    series.warnings.some((warning) => /mixed orientations: 1 image\(s\).*coronal\.dcm/.test(warning)),
  );
});

test('symbolic links to series are followed', async () => {
  const series = newFolder();
  await writeCtSeriesDicom(series, baseInput(2));
  const caseFolder = newFolder();
  await mkdir(caseFolder);
  await symlink(series, join(caseFolder, 'PVP'));
  await symlink(caseFolder, join(caseFolder, 'loop'));
  const ctCase = await readCase(caseFolder);
  assert.equal(ctCase.series.length, 1);
  assert.equal(ctCase.series[0].phase, 'PVP');
  assert.equal(ctCase.series[0].sliceFiles.length, 2);
});
