/**
 * A minimal DICOM writer for synthetic CT series: one CT Image Storage file per slice, DICOM Part 10 (128-byte
 * preamble, "DICM", file meta information), explicit VR little endian, 16-bit allocated monochrome pixels.
 *
 * It exists to generate test studies and phantom cases with known Hounsfield units and geometry, including the
 * awkward cases readers must handle (odd rescale slopes, signed 12-bit values, padding, gaps, tilt, shuffled
 * InstanceNumber). It is not a general DICOM encoder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LilnetError } from '../../errors.ts';
import {
  bytesElement,
  decimalElement,
  encodeElements,
  int16Element,
  integerStringElement,
  stringElement,
  uint16Element,
  uint32Element,
  type DataElement,
} from './encode.ts';
import { generateUid } from './uid.ts';

export const CT_IMAGE_STORAGE_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN_UID = '1.2.840.10008.1.2.1';
/** Implementation Class UID of lilnet's writer: a fixed UID under the UUID-derived `2.25` root. */
export const LILNET_IMPLEMENTATION_CLASS_UID = '2.25.157640431370117297396233946442539530127';
const IMPLEMENTATION_VERSION_NAME = 'LILNET_0_1';

/**
 * A CT series to write. Voxel layout is the one of the volume model: `x + columns * (y + rows * z)`, x (column)
 * fastest, and slice z becomes file z (before any reordering of InstanceNumber).
 *
 * Give the pixel values either as Hounsfield units or as raw stored values. `hounsfieldUnits` are converted with
 * the rescale below, rounded and clamped to the stored range. `storedValues` are written as they are, so tests
 * can write values that a reader must sign-extend or treat as padding.
 *
 * Geometry: slice z is placed at `originMm + z * sliceSpacingMm * normal`, where normal = row x column direction,
 * unless `imagePositionsMm` gives every slice position explicitly (for gaps, duplicates or gantry tilt).
 */
export interface CtSeriesDicomInput {
  /** Pseudonymous patient ID written to PatientID (0010,0020). Never pass a real patient's identifier. */
  patientId: string;
  /** Pseudonymous name written to PatientName (0010,0010), e.g. `PHANTOM^001`. */
  patientName: string;
  columns: number;
  rows: number;
  /** Number of slices; the pixel array contains `columns * rows * slices` values. */
  slices: number;
  hounsfieldUnits?: Float32Array | Float64Array | number[];
  storedValues?: Int16Array | Uint16Array | Int32Array | number[];
  /** RescaleSlope (0028,1053); default 1. Any positive value, e.g. 0.5 or 1.2. */
  rescaleSlope?: number;
  /** RescaleIntercept (0028,1052); default -1024 for unsigned pixels and 0 for signed ones. */
  rescaleIntercept?: number;
  /** PixelRepresentation (0028,0103): 1 = two's complement signed (default), 0 = unsigned. */
  pixelRepresentation?: 0 | 1;
  /** BitsStored (0028,0101), 8 to 16; default 16. HighBit is BitsStored - 1, BitsAllocated is always 16. */
  bitsStored?: number;
  /**
   * With BitsStored below 16, keep only the low BitsStored bits of each 16-bit word (default true), so a
   * reader must sign-extend signed values itself. False writes the full 16-bit value.
   */
  maskUnusedBits?: boolean;
  /** PixelPaddingValue (0028,0120) as a stored value; written as SS when signed, US when unsigned. */
  pixelPaddingValue?: number;
  /** [between columns, between rows] in mm, the order of `VolumeGeometry.spacingMm`; default [1, 1]. */
  pixelSpacingMm?: [number, number];
  /** Distance between consecutive slice centres along the normal, in mm; default 1. */
  sliceSpacingMm?: number;
  /** SliceThickness (0018,0050) in mm; default `sliceSpacingMm`. */
  sliceThicknessMm?: number;
  /** ImagePositionPatient of slice 0 (LPS, mm); default [0, 0, 0]. */
  originMm?: [number, number, number];
  /** ImageOrientationPatient: row direction then column direction cosines; default axial [1,0,0, 0,1,0]. */
  orientation?: [number, number, number, number, number, number];
  /** Explicit ImagePositionPatient per slice (length `slices`); overrides origin and slice spacing. */
  imagePositionsMm?: [number, number, number][];
  /** GantryDetectorTilt (0018,1120) in degrees, written when given. */
  gantryTiltDeg?: number;
  /** InstanceNumber per slice; default 1, 2, 3, ... in slice order. */
  instanceNumbers?: number[];
  /** File name per slice; default `slice-0001.dcm`, ... numbered by slice index. */
  fileNames?: string[];
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  /** SOPInstanceUID per slice; default freshly generated. */
  sopInstanceUids?: string[];
  seriesDescription?: string;
  seriesNumber?: number;
  /** WindowCenter (0028,1050) and WindowWidth (0028,1051) in HU, written when given. */
  window?: { centre: number; width: number };
  /** ContrastBolusAgent (0018,0010), e.g. `IOPAMIDOL`; omit for a non-contrast series. */
  contrastBolusAgent?: string;
  /** AcquisitionTime (0008,0032) as DICOM TM `HHMMSS` or `HHMMSS.ffffff`; one value for all slices or one each. */
  acquisitionTime?: string | string[];
  /** StudyDate/SeriesDate/AcquisitionDate as DICOM DA `YYYYMMDD`; default `20000101`. */
  studyDate?: string;
  /** ImageType (0008,0008); default ORIGINAL\PRIMARY\AXIAL. Use ORIGINAL\PRIMARY\LOCALIZER for a scout. */
  imageType?: string[];
  /** Modality (0008,0060); default `CT`. */
  modality?: string;
}

interface ResolvedPixelFormat {
  signed: boolean;
  bitsStored: number;
  slope: number;
  intercept: number;
  minStored: number;
  maxStored: number;
  mask: boolean;
}

function invalid(message: string, hint: string): LilnetError {
  return new LilnetError('INVALID_ARGUMENT', message, { hint });
}

function resolvePixelFormat(input: CtSeriesDicomInput): ResolvedPixelFormat {
  const signed = (input.pixelRepresentation ?? 1) === 1;
  const bitsStored = input.bitsStored ?? 16;
  if (!Number.isInteger(bitsStored) || bitsStored < 8 || bitsStored > 16) {
    throw invalid(`bitsStored ${bitsStored} is not an integer from 8 to 16`, 'use 12 or 16 for CT');
  }
  const slope = input.rescaleSlope ?? 1;
  if (!(slope > 0) || !Number.isFinite(slope)) {
    throw invalid(`rescaleSlope ${slope} is not a positive number`, 'pass a slope such as 1 or 0.5');
  }
  const intercept = input.rescaleIntercept ?? (signed ? 0 : -1024);
  const minStored = signed ? -(2 ** (bitsStored - 1)) : 0;
  const maxStored = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  return { signed, bitsStored, slope, intercept, minStored, maxStored, mask: input.maskUnusedBits ?? true };
}

function checkInput(input: CtSeriesDicomInput): void {
  const { columns, rows, slices } = input;
  for (const [name, value] of [
    ['columns', columns],
    ['rows', rows],
    ['slices', slices],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || (name !== 'slices' && value > 0xffff)) {
      throw invalid(`${name} ${value} is not a positive integer in range`, 'pass the image size in voxels');
    }
  }
  const expected = columns * rows * slices;
  const values = input.hounsfieldUnits ?? input.storedValues;
  if ((input.hounsfieldUnits === undefined) === (input.storedValues === undefined)) {
    throw invalid('exactly one of hounsfieldUnits and storedValues must be given', 'pass one pixel array');
  }
  if (values!.length !== expected) {
    throw invalid(
      `pixel array has ${values!.length} values, expected columns * rows * slices = ${expected}`,
      'check the dimensions against the voxel array',
    );
  }
  const perSlice: [string, unknown[] | undefined][] = [
    ['imagePositionsMm', input.imagePositionsMm],
    ['instanceNumbers', input.instanceNumbers],
    ['fileNames', input.fileNames],
    ['sopInstanceUids', input.sopInstanceUids],
    ['acquisitionTime', Array.isArray(input.acquisitionTime) ? input.acquisitionTime : undefined],
  ];
  for (const [name, list] of perSlice) {
    if (list !== undefined && list.length !== slices) {
      throw invalid(`${name} has ${list.length} entries for ${slices} slices`, 'give one entry per slice');
    }
  }
}

function cross(a: number[], b: number[]): [number, number, number] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function slicePositions(input: CtSeriesDicomInput, orientation: number[]): [number, number, number][] {
  if (input.imagePositionsMm) return input.imagePositionsMm;
  const normal = cross(orientation.slice(0, 3), orientation.slice(3, 6));
  const origin = input.originMm ?? [0, 0, 0];
  const spacing = input.sliceSpacingMm ?? 1;
  const positions: [number, number, number][] = [];
  for (let z = 0; z < input.slices; z++) {
    positions.push([
      origin[0] + z * spacing * normal[0],
      origin[1] + z * spacing * normal[1],
      origin[2] + z * spacing * normal[2],
    ]);
  }
  return positions;
}

/** Converts one slice to the little-endian 16-bit words of PixelData. */
function encodeSlicePixels(input: CtSeriesDicomInput, format: ResolvedPixelFormat, z: number): Buffer {
  const size = input.columns * input.rows;
  const buffer = Buffer.alloc(size * 2);
  const lowBitsMask = (1 << format.bitsStored) - 1;
  for (let i = 0; i < size; i++) {
    let stored: number;
    if (input.hounsfieldUnits) {
      const hu = input.hounsfieldUnits[z * size + i];
      stored = Math.round((hu - format.intercept) / format.slope);
      stored = Math.min(format.maxStored, Math.max(format.minStored, stored));
    } else {
      stored = Math.round(input.storedValues![z * size + i]);
    }
    let word = stored & 0xffff;
    if (format.mask && format.bitsStored < 16) word &= lowBitsMask;
    buffer.writeUInt16LE(word, i * 2);
  }
  return buffer;
}

function fileMetaInformation(sopInstanceUid: string): Buffer {
  const elements: DataElement[] = [
    bytesElement(0x00020001, 'OB', Buffer.from([0x00, 0x01])),
    stringElement(0x00020002, 'UI', CT_IMAGE_STORAGE_SOP_CLASS_UID),
    stringElement(0x00020003, 'UI', sopInstanceUid),
    stringElement(0x00020010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN_UID),
    stringElement(0x00020012, 'UI', LILNET_IMPLEMENTATION_CLASS_UID),
    stringElement(0x00020013, 'SH', IMPLEMENTATION_VERSION_NAME),
  ];
  const body = encodeElements(elements);
  const groupLength = encodeElements([uint32Element(0x00020000, body.length)]);
  return Buffer.concat([groupLength, body]);
}

interface SliceContext {
  input: CtSeriesDicomInput;
  format: ResolvedPixelFormat;
  orientation: number[];
  position: [number, number, number];
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  sopInstanceUid: string;
  instanceNumber: number;
  acquisitionTime: string | undefined;
}

function sliceDataset(context: SliceContext, pixels: Buffer): Buffer {
  const { input, format, orientation, position } = context;
  const date = input.studyDate ?? '20000101';
  const [spacingBetweenColumns, spacingBetweenRows] = input.pixelSpacingMm ?? [1, 1];
  const sliceSpacing = input.sliceSpacingMm ?? 1;
  const normal = cross(orientation.slice(0, 3), orientation.slice(3, 6));
  const sliceLocation = position[0] * normal[0] + position[1] * normal[1] + position[2] * normal[2];

  const elements: DataElement[] = [
    stringElement(0x00080005, 'CS', 'ISO_IR 100'),
    stringElement(0x00080008, 'CS', input.imageType ?? ['ORIGINAL', 'PRIMARY', 'AXIAL']),
    stringElement(0x00080016, 'UI', CT_IMAGE_STORAGE_SOP_CLASS_UID),
    stringElement(0x00080018, 'UI', context.sopInstanceUid),
    stringElement(0x00080020, 'DA', date),
    stringElement(0x00080021, 'DA', date),
    stringElement(0x00080022, 'DA', date),
    stringElement(0x00080060, 'CS', input.modality ?? 'CT'),
    stringElement(0x00080070, 'LO', 'lilnet synthetic'),
    stringElement(0x00100010, 'PN', input.patientName),
    stringElement(0x00100020, 'LO', input.patientId),
    decimalElement(0x00180050, input.sliceThicknessMm ?? sliceSpacing),
    stringElement(0x0020000d, 'UI', context.studyInstanceUid),
    stringElement(0x0020000e, 'UI', context.seriesInstanceUid),
    integerStringElement(0x00200011, input.seriesNumber ?? 1),
    integerStringElement(0x00200013, context.instanceNumber),
    decimalElement(0x00200032, position),
    decimalElement(0x00200037, orientation),
    stringElement(0x00200052, 'UI', context.frameOfReferenceUid),
    decimalElement(0x00201041, sliceLocation),
    uint16Element(0x00280002, 1),
    stringElement(0x00280004, 'CS', 'MONOCHROME2'),
    uint16Element(0x00280010, input.rows),
    uint16Element(0x00280011, input.columns),
    // PixelSpacing is (between rows, between columns): the reverse of the input order.
    decimalElement(0x00280030, [spacingBetweenRows, spacingBetweenColumns]),
    uint16Element(0x00280100, 16),
    uint16Element(0x00280101, format.bitsStored),
    uint16Element(0x00280102, format.bitsStored - 1),
    uint16Element(0x00280103, format.signed ? 1 : 0),
    decimalElement(0x00281052, format.intercept),
    decimalElement(0x00281053, format.slope),
    stringElement(0x00281054, 'LO', 'HU'),
    bytesElement(0x7fe00010, 'OW', pixels),
  ];
  if (input.seriesDescription !== undefined)
    elements.push(stringElement(0x0008103e, 'LO', input.seriesDescription));
  if (context.acquisitionTime !== undefined)
    elements.push(stringElement(0x00080032, 'TM', context.acquisitionTime));
  if (input.contrastBolusAgent !== undefined)
    elements.push(stringElement(0x00180010, 'LO', input.contrastBolusAgent));
  if (input.gantryTiltDeg !== undefined) elements.push(decimalElement(0x00181120, input.gantryTiltDeg));
  if (input.window !== undefined) {
    elements.push(
      decimalElement(0x00281050, input.window.centre),
      decimalElement(0x00281051, input.window.width),
    );
  }
  if (input.pixelPaddingValue !== undefined) {
    const padding = input.pixelPaddingValue;
    elements.push(format.signed ? int16Element(0x00280120, padding) : uint16Element(0x00280120, padding));
  }
  return encodeElements(elements);
}

/**
 * Writes one DICOM file per slice into `outDir` (created if missing) and returns the written paths in slice
 * order (slice z = 0 first). UIDs not given are generated under the `2.25` root.
 */
export async function writeCtSeriesDicom(outDir: string, input: CtSeriesDicomInput): Promise<string[]> {
  checkInput(input);
  const format = resolvePixelFormat(input);
  const orientation = input.orientation ?? [1, 0, 0, 0, 1, 0];
  const positions = slicePositions(input, orientation);
  const studyInstanceUid = input.studyInstanceUid ?? generateUid();
  const seriesInstanceUid = input.seriesInstanceUid ?? generateUid();
  const frameOfReferenceUid = input.frameOfReferenceUid ?? generateUid();
  await mkdir(outDir, { recursive: true });

  const written: string[] = [];
  for (let z = 0; z < input.slices; z++) {
    const sopInstanceUid = input.sopInstanceUids?.[z] ?? generateUid();
    const acquisitionTime = Array.isArray(input.acquisitionTime)
      ? input.acquisitionTime[z]
      : input.acquisitionTime;
    const dataset = sliceDataset(
      {
        input,
        format,
        orientation,
        position: positions[z],
        studyInstanceUid,
        seriesInstanceUid,
        frameOfReferenceUid,
        sopInstanceUid,
        instanceNumber: input.instanceNumbers?.[z] ?? z + 1,
        acquisitionTime,
      },
      encodeSlicePixels(input, format, z),
    );
    const preamble = Buffer.alloc(128);
    const magic = Buffer.from('DICM', 'latin1');
    const path = join(outDir, input.fileNames?.[z] ?? `slice-${String(z + 1).padStart(4, '0')}.dcm`);
    await writeFile(path, Buffer.concat([preamble, magic, fileMetaInformation(sopInstanceUid), dataset]));
    written.push(path);
  }
  return written;
}
