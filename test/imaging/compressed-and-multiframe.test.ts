import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjsCodecs from 'dcmjs-codecs';
import { writeCtSeriesDicom } from '../../src/imaging/dicom/writer.ts';
import { readDicomBytes, readDicomFile } from '../../src/imaging/dicom/read-file.ts';
import { readCase } from '../../src/imaging/read-case.ts';
import sharp from 'sharp';
import { sharedPath } from '../helpers/shared.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-compressed-'));
after(() => rm(root, { recursive: true, force: true }));

const COLUMNS = 16;
const ROWS = 12;
const hounsfieldUnits = Float32Array.from({ length: COLUMNS * ROWS }, (_, i) => -1024 + i * 13);

const LOSSLESS_SYNTAXES: Record<string, string> = {
  'implicit VR little endian': '1.2.840.10008.1.2',
  'explicit VR big endian': '1.2.840.10008.1.2.2',
  'RLE lossless': '1.2.840.10008.1.2.5',
  'JPEG lossless': '1.2.840.10008.1.2.4.70',
  'JPEG-LS lossless': '1.2.840.10008.1.2.4.80',
  'JPEG 2000 lossless': '1.2.840.10008.1.2.4.90',
  'HTJ2K lossless': '1.2.840.10008.1.2.4.201',
  'HTJ2K lossless RPCL': '1.2.840.10008.1.2.4.202',
  'JPEG XL lossless': '1.2.840.10008.1.2.4.110',
};

test('lossless transcodes decode to written HU', async () => {
  // dcmjs-codecs encodes; lilnet must decode every lossless syntax back to the written signed 12-bit values.
  // The encoders expect sign-extended words, hence maskUnusedBits false.
  const [file] = await writeCtSeriesDicom(join(root, 'source'), {
    patientId: 'SYNTH-003',
    patientName: 'SYNTHETIC^THREE',
    columns: COLUMNS,
    rows: ROWS,
    slices: 1,
    hounsfieldUnits,
    bitsStored: 12,
    pixelRepresentation: 1,
    rescaleIntercept: 0,
    maskUnusedBits: false,
  });
  await dcmjsCodecs.NativeCodecs.initializeAsync();
  const source = readFileSync(file);
  for (const [name, uid] of Object.entries(LOSSLESS_SYNTAXES)) {
    const transcoder = new dcmjsCodecs.Transcoder(
      source.buffer.slice(source.byteOffset, source.byteOffset + source.length),
    );
    transcoder.transcode(uid);
    const image = await readDicomBytes(new Uint8Array(transcoder.getDicomPart10()), `${name}.dcm`);
    assert.equal(image.transferSyntaxUid, uid, name);
    assert.deepEqual(image.frames[0].values, hounsfieldUnits, `${name} differs from the written values`);
  }
});

function hasPydicom(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;
}

test(
  'multi-frame file sorts frames by position',
  { skip: !hasPydicom() && 'pydicom is not installed for /usr/bin/python3' },
  async () => {
    const slices = 3;
    const values = new Float32Array(COLUMNS * ROWS * slices);
    for (let z = 0; z < slices; z++)
      values.fill(-500 + 100 * z, z * COLUMNS * ROWS, (z + 1) * COLUMNS * ROWS);
    const files = await writeCtSeriesDicom(join(root, 'frames'), {
      patientId: 'SYNTH-004',
      patientName: 'SYNTHETIC^FOUR',
      columns: COLUMNS,
      rows: ROWS,
      slices,
      hounsfieldUnits: values,
      pixelSpacingMm: [0.6, 0.9],
      sliceSpacingMm: 3,
    });
    const output = join(root, 'multi', 'enhanced.dcm');
    // pydicom builds one file with the frames in reverse order, positions only in the functional groups.
    const script = `
import sys, os, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
files = sys.argv[2:]
datasets = [pydicom.dcmread(f) for f in files][::-1]
out = datasets[0]
shared = Dataset()
orientation = Dataset(); orientation.ImageOrientationPatient = out.ImageOrientationPatient
measures = Dataset(); measures.PixelSpacing = out.PixelSpacing; measures.SliceThickness = out.SliceThickness
shared.PlaneOrientationSequence = Sequence([orientation])
shared.PixelMeasuresSequence = Sequence([measures])
out.SharedFunctionalGroupsSequence = Sequence([shared])
frames = []
for d in datasets:
    item = Dataset(); position = Dataset(); position.ImagePositionPatient = d.ImagePositionPatient
    item.PlanePositionSequence = Sequence([position]); frames.append(item)
out.PerFrameFunctionalGroupsSequence = Sequence(frames)
out.NumberOfFrames = len(datasets)
del out.ImagePositionPatient; del out.ImageOrientationPatient; del out.PixelSpacing
out.PixelData = b''.join(d.PixelData for d in datasets)
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
out.save_as(sys.argv[1], write_like_original=False)
`;
    const result = spawnSync('/usr/bin/python3', ['-c', script, output, ...files], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);

    const image = await readDicomFile(output);
    assert.equal(image.frames.length, 3);
    assert.deepEqual(image.frames[0].positionMm, [0, 0, 6]);
    assert.deepEqual(image.pixelSpacingMm, [0.6, 0.9]);

    const ctCase = await readCase(join(root, 'multi'));
    const [series] = ctCase.series;
    assert.deepEqual(series.geometry.dimensions, [COLUMNS, ROWS, 3]);
    assert.deepEqual(series.sliceFiles, [output]);
    assert.equal(series.geometry.spacingMm[2], 3);
    for (let z = 0; z < slices; z++)
      assert.equal(series.voxels[z * COLUMNS * ROWS], -500 + 100 * z, `slice ${z}`);
  },
);

test(
  'JPEG baseline DICOM equals the JPEG slice',
  { skip: !hasPydicom() && 'pydicom is not installed for /usr/bin/python3' },
  async () => {
    // pydicom wraps a real 8-bit YCbCr JPEG slice, unchanged, as encapsulated DICOM pixel data.
    const jpeg = sharedPath('data', 'real-ct', 'cases', 'case-01', '5.jpg');
    const output = join(root, 'baseline', 'slice.dcm');
    const script = `
import sys, os, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = JPEGBaseline8Bit
ds = Dataset(); ds.file_meta = meta
ds.SOPClassUID = SecondaryCaptureImageStorage; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.Modality = 'OT'; ds.SeriesInstanceUID = generate_uid()
ds.Rows = 512; ds.Columns = 512; ds.SamplesPerPixel = 3; ds.PhotometricInterpretation = 'YBR_FULL_422'
ds.PlanarConfiguration = 0; ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7; ds.PixelRepresentation = 0
ds.PixelData = encapsulate([open(sys.argv[2], 'rb').read()])
ds['PixelData'].is_undefined_length = True
ds.is_little_endian = True; ds.is_implicit_VR = False
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
ds.save_as(sys.argv[1], write_like_original=False)
`;
    const result = spawnSync('/usr/bin/python3', ['-c', script, output, jpeg], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);

    const image = await readDicomFile(output);
    assert.equal(image.transferSyntaxUid, '1.2.840.10008.1.2.4.50');
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const expected = Float32Array.from(
      { length: info.width * info.height },
      (_, i) => data[i * info.channels],
    );
    // dcmjs-codecs and sharp both decode with libjpeg-turbo, and give the same grey levels here.
    assert.deepEqual(image.frames[0].values, expected);
    assert.deepEqual(image.warnings, []);
  },
);

test(
  'two-segment SEG merges into one label slice',
  { skip: !hasPydicom() && 'pydicom is not installed for /usr/bin/python3' },
  async () => {
    // pydicom adds a second segment frame at the same position as the liver frame of the SEG fixture.
    const output = join(root, 'seg', 'two-segments.dcm');
    const script = `
import sys, os, copy, pydicom, numpy
ds = pydicom.dcmread(sys.argv[2])
liver = ds.pixel_array.astype(numpy.uint8)
second = numpy.zeros_like(liver); second[10:20, 30:50] = 1
frames = [liver, second]
ds.PixelData = numpy.packbits(numpy.stack(frames).ravel(), bitorder='little').tobytes()
ds.NumberOfFrames = 2
# The fixture keeps three per-frame items for its one frame; keep the first, then add the second segment's.
del ds.PerFrameFunctionalGroupsSequence[1:]
item = copy.deepcopy(ds.PerFrameFunctionalGroupsSequence[0])
item.SegmentIdentificationSequence[0].ReferencedSegmentNumber = 2
ds.PerFrameFunctionalGroupsSequence.append(item)
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
ds.save_as(sys.argv[1])
print(int(liver.sum()), int((liver * (1 - second)).sum()))
`;
    const result = spawnSync(
      '/usr/bin/python3',
      ['-c', script, output, sharedPath('fixtures', 'dicom', 'liver_1frame.dcm')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const [, liverOutsideSecond] = result.stdout.trim().split(' ').map(Number);

    const image = await readDicomFile(output);
    assert.equal(image.unit, 'label');
    assert.equal(image.frames.length, 1, 'both segment frames share one position');
    const counts = new Map<number, number>();
    for (const value of image.frames[0].values) counts.set(value, (counts.get(value) ?? 0) + 1);
    assert.equal(counts.get(2), 200);
    assert.equal(counts.get(1), liverOutsideSecond);
  },
);

test('SEG beside phase series keeps phase rules', async () => {
  const folder = join(root, 'with-seg');
  const base = { patientId: 'SYNTH-006', patientName: 'SYNTHETIC^SIX', columns: 4, rows: 4, slices: 2 };
  const hu = new Float32Array(32).fill(40);
  await writeCtSeriesDicom(join(folder, 's1'), { ...base, hounsfieldUnits: hu, acquisitionTime: '100000' });
  await writeCtSeriesDicom(join(folder, 's2'), {
    ...base,
    hounsfieldUnits: hu,
    contrastBolusAgent: 'IOHEXOL',
    acquisitionTime: '100200',
  });
  await writeCtSeriesDicom(join(folder, 's3'), {
    ...base,
    hounsfieldUnits: hu,
    contrastBolusAgent: 'IOHEXOL',
    acquisitionTime: '100100',
  });
  const segFolder = join(folder, 'PVP');
  await mkdir(segFolder, { recursive: true });
  await copyFile(sharedPath('fixtures', 'dicom', 'liver_1frame.dcm'), join(segFolder, 'mask.dcm'));

  const ctCase = await readCase(folder);
  const byUnit = ctCase.series.map((series) => `${series.unit}:${series.phase}`).sort();
  assert.deepEqual(byUnit, ['HU:AP', 'HU:NC', 'HU:PVP', 'label:PVP']);
  assert.ok(ctCase.warnings.includes('missing phases: DP'));
  assert.ok(!ctCase.warnings.some((warning) => /2 series are identified as PVP/.test(warning)));
});
