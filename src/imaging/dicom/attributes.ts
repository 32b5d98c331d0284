/**
 * Typed access to the DICOM attributes the readers use. Values come from a dicom-parser data set, with decimal
 * strings (DS) parsed as numbers and multi-valued attributes split on the backslash.
 *
 * Patient attributes are deliberately absent: nothing here reads PatientName or PatientID.
 */
import type { DataSet } from 'dicom-parser';
import iconv from 'iconv-lite';

export const SEGMENTATION_STORAGE_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';

export interface ImageAttributes {
  sopClassUid: string | undefined;
  modality: string | undefined;
  seriesInstanceUid: string | undefined;
  studyInstanceUid: string | undefined;
  seriesDescription: string | undefined;
  imageType: string[];
  rows: number;
  columns: number;
  numberOfFrames: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** PixelPaddingValue as a stored value (sign applied when PixelRepresentation is 1). */
  pixelPaddingValue: number | undefined;
  pixelPaddingRangeLimit: number | undefined;
  windowCentre: number | undefined;
  windowWidth: number | undefined;
  imagePositionPatient: [number, number, number] | undefined;
  imageOrientationPatient: [number, number, number, number, number, number] | undefined;
  /** PixelSpacing as stored: [between rows, between columns] in mm. */
  pixelSpacing: [number, number] | undefined;
  sliceThickness: number | undefined;
  spacingBetweenSlices: number | undefined;
  gantryDetectorTilt: number | undefined;
  instanceNumber: number | undefined;
  contrastBolusAgent: string | undefined;
  /** AcquisitionTime (or SeriesTime when absent) as seconds since midnight. */
  acquisitionTimeS: number | undefined;
}

function text(dataSet: DataSet, tag: string): string | undefined {
  const value = dataSet.string(tag);
  if (value === undefined) return undefined;
  const trimmed = value.replace(/\0/g, '').trim();
  return trimmed === '' ? undefined : trimmed;
}

/** iconv-lite encodings of the single-byte, UTF-8 and GB SpecificCharacterSet defined terms. */
const ENCODING_BY_CHARACTER_SET: Record<string, string> = {
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 166': 'tis620',
  'ISO_IR 192': 'utf8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/**
 * Reads a text attribute (SH, LO, ST, LT) decoded with the data set's SpecificCharacterSet. dicom-parser
 * maps each byte to one character, which garbles UTF-8 and GB18030 text such as Chinese series descriptions.
 * Character sets with ISO 2022 code extensions are decoded byte by byte, as before.
 */
function decodedText(dataSet: DataSet, tag: string): string | undefined {
  const element = dataSet.elements[tag];
  const characterSet = text(dataSet, 'x00080005')?.split('\\')[0].trim();
  const encoding = characterSet ? ENCODING_BY_CHARACTER_SET[characterSet] : undefined;
  if (!element || !encoding || element.length === 0) return text(dataSet, tag);
  const bytes = dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
  const trimmed = iconv.decode(Buffer.from(bytes), encoding).replace(/\0/g, '').trim();
  return trimmed === '' ? undefined : trimmed;
}

export function decimals(dataSet: DataSet, tag: string): number[] | undefined {
  const value = text(dataSet, tag);
  if (value === undefined) return undefined;
  const numbers = value.split('\\').map((part) => Number(part.trim()));
  return numbers.every(Number.isFinite) ? numbers : undefined;
}

function decimal(dataSet: DataSet, tag: string): number | undefined {
  return decimals(dataSet, tag)?.[0];
}

function unsignedShort(dataSet: DataSet, tag: string): number | undefined {
  const element = dataSet.elements[tag];
  if (!element || element.length < 2) return undefined;
  return dataSet.uint16(tag);
}

/** Parses a DICOM TM value (HHMMSS.FFFFFF, also HH:MM:SS) to seconds since midnight. */
export function parseDicomTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{2}):?(\d{2})?:?(\d{2})?(\.\d+)?$/.exec(value.trim());
  if (!match) return undefined;
  const [, hours, minutes = '0', seconds = '0', fraction = ''] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + (fraction ? Number(fraction) : 0);
}

function signed(value: number, bits: number): number {
  const signBit = 1 << (bits - 1);
  return value & signBit ? value - (1 << bits) : value;
}

/** Reads the attributes of an image or segmentation data set. Missing sizes come back as 0. */
export function readImageAttributes(dataSet: DataSet): ImageAttributes {
  const bitsAllocated = unsignedShort(dataSet, 'x00280100') ?? 0;
  const bitsStored = unsignedShort(dataSet, 'x00280101') ?? bitsAllocated;
  const pixelRepresentation = unsignedShort(dataSet, 'x00280103') ?? 0;
  const padding = unsignedShort(dataSet, 'x00280120');
  const paddingLimit = unsignedShort(dataSet, 'x00280121');
  const toStored = (value: number | undefined): number | undefined => {
    if (value === undefined || pixelRepresentation !== 1) return value;
    return signed(value, 16);
  };
  const position = decimals(dataSet, 'x00200032');
  const orientation = decimals(dataSet, 'x00200037');
  const spacing = decimals(dataSet, 'x00280030');
  const slope = decimal(dataSet, 'x00281053');

  return {
    sopClassUid: text(dataSet, 'x00080016'),
    modality: text(dataSet, 'x00080060'),
    seriesInstanceUid: text(dataSet, 'x0020000e'),
    studyInstanceUid: text(dataSet, 'x0020000d'),
    seriesDescription: decodedText(dataSet, 'x0008103e'),
    imageType: (text(dataSet, 'x00080008') ?? '').split('\\').filter((part) => part !== ''),
    rows: unsignedShort(dataSet, 'x00280010') ?? 0,
    columns: unsignedShort(dataSet, 'x00280011') ?? 0,
    numberOfFrames: Math.max(1, Number(text(dataSet, 'x00280008') ?? '1') || 1),
    samplesPerPixel: unsignedShort(dataSet, 'x00280002') ?? 1,
    photometricInterpretation: text(dataSet, 'x00280004') ?? 'MONOCHROME2',
    planarConfiguration: unsignedShort(dataSet, 'x00280006') ?? 0,
    bitsAllocated,
    bitsStored,
    highBit: unsignedShort(dataSet, 'x00280102') ?? bitsStored - 1,
    pixelRepresentation,
    // A slope of 0 would erase the image; DICOM requires a non-zero slope, so treat 0 as absent.
    rescaleSlope: slope === undefined || slope === 0 ? 1 : slope,
    rescaleIntercept: decimal(dataSet, 'x00281052') ?? 0,
    pixelPaddingValue: toStored(padding),
    pixelPaddingRangeLimit: toStored(paddingLimit),
    windowCentre: decimal(dataSet, 'x00281050'),
    windowWidth: decimal(dataSet, 'x00281051'),
    imagePositionPatient: position?.length === 3 ? (position as [number, number, number]) : undefined,
    imageOrientationPatient:
      orientation?.length === 6
        ? (orientation as [number, number, number, number, number, number])
        : undefined,
    pixelSpacing: spacing?.length === 2 ? (spacing as [number, number]) : undefined,
    sliceThickness: decimal(dataSet, 'x00180050'),
    spacingBetweenSlices: decimal(dataSet, 'x00180088'),
    gantryDetectorTilt: decimal(dataSet, 'x00181120'),
    instanceNumber: decimal(dataSet, 'x00200013'),
    contrastBolusAgent: decodedText(dataSet, 'x00180010'),
    acquisitionTimeS: parseDicomTime(text(dataSet, 'x00080032') ?? text(dataSet, 'x00080031')),
  };
}
