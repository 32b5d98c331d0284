/**
 * Parses DICOM bytes into a dicom-parser data set. Accepts Part 10 files (128-byte preamble, "DICM", file meta),
 * file meta without a preamble, and bare data sets without either, for which the transfer syntax is inferred
 * from the first element (explicit or implicit VR little endian).
 */
import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import { LilnetError } from '../../errors.ts';

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntaxUid: string;
  /** Layout of the file start: a Part 10 preamble, file meta without preamble, or a bare data set. */
  layout: 'part10' | 'meta-without-preamble' | 'bare-data-set';
  warnings: string[];
}

const VALID_VRS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(
    ' ',
  ),
);

/** Largest number of stray leading bytes skipped before a bare data set (seen in the wild as one padding byte). */
const MAX_LEADING_BYTES = 8;

function hasPart10Prefix(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

interface BareStart {
  offset: number;
  explicit: boolean;
  group: number;
}

/**
 * Finds where a data set without preamble starts: an even group number from 0x0002 to 0x0028 at a little-endian
 * element header, followed by a valid VR (explicit) or a plausible 32-bit length (implicit).
 */
function findBareStart(bytes: Uint8Array): BareStart | null {
  for (let offset = 0; offset <= MAX_LEADING_BYTES && offset + 8 <= bytes.length; offset++) {
    const group = bytes[offset] | (bytes[offset + 1] << 8);
    if (group < 0x0002 || group > 0x0028 || group % 2 !== 0) continue;
    const vr = String.fromCharCode(bytes[offset + 4], bytes[offset + 5]);
    if (VALID_VRS.has(vr)) return { offset, explicit: true, group };
    const length =
      (bytes[offset + 4] |
        (bytes[offset + 5] << 8) |
        (bytes[offset + 6] << 16) |
        (bytes[offset + 7] << 24)) >>>
      0;
    if (length < bytes.length) return { offset, explicit: false, group };
  }
  return null;
}

function describeParserFailure(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'exception' in error)
    return describeParserFailure(error.exception);
  return String(error);
}

/** Inflates a deflated data set (PS3.5 section A.5: raw deflate after the file meta) with Node's zlib. */
function inflateDataSet(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position));
  const full = Buffer.alloc(position + inflated.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

/** Modality values of objects that never carry pixel data (plans, structure sets, reports, waveforms). */
const NON_IMAGE_MODALITIES = new Set([
  'RTPLAN',
  'RTSTRUCT',
  'RTRECORD',
  'PLAN',
  'SR',
  'PR',
  'KO',
  'DOC',
  'REG',
  'FID',
  'AU',
  'ECG',
  'HD',
  'RWV',
]);

/**
 * Describes what a partly parsed data set is, e.g. `Modality RTPLAN, not an image`. A file cut off before
 * its PixelData element is only called "not an image" when its modality never has pixel data.
 */
function describePartialDataSet(error: unknown): string | undefined {
  const partial =
    error && typeof error === 'object' && 'dataSet' in error ? (error.dataSet as DataSet) : undefined;
  const modality = partial?.string('x00080060')?.trim();
  if (!modality) return undefined;
  if (partial!.elements.x7fe00010) return `Modality ${modality} image`;
  if (NON_IMAGE_MODALITIES.has(modality.toUpperCase())) return `Modality ${modality}, not an image`;
  return `Modality ${modality}, cut off before its pixel data`;
}

function parseWithOptions(bytes: Uint8Array, file: string, transferSyntaxUid?: string): DataSet {
  const options = {
    inflater: inflateDataSet,
    ...(transferSyntaxUid ? { TransferSyntaxUID: transferSyntaxUid } : {}),
  };
  try {
    return dicomParser.parseDicom(bytes, options as Parameters<typeof dicomParser.parseDicom>[1]);
  } catch (error) {
    const reason = describeParserFailure(error);
    const content = describePartialDataSet(error);
    const what = content ? ` (${content})` : '';
    throw new LilnetError('DICOM_INVALID', `DICOM file ${file}${what} is truncated or malformed: ${reason}`, {
      file,
      hint: 'the file may have been cut short by an interrupted copy: copy it again from the source',
      cause: error,
    });
  }
}

/** Parses a DICOM file's bytes; `file` is only used in messages. */
export function parseDicomBytes(bytes: Uint8Array, file: string): ParsedDicom {
  const warnings: string[] = [];
  if (hasPart10Prefix(bytes)) {
    const dataSet = parseWithOptions(bytes, file);
    return { dataSet, transferSyntaxUid: transferSyntaxOf(dataSet), layout: 'part10', warnings };
  }

  const start = findBareStart(bytes);
  if (start === null) {
    throw new LilnetError(
      'DICOM_INVALID',
      `file ${file} is not DICOM: no "DICM" prefix and no data set header`,
      {
        file,
        hint: 'check that the file is DICOM; lilnet also reads NIfTI (.nii, .nii.gz) and PNG/JPEG/BMP slices',
      },
    );
  }
  if (start.offset > 0) {
    warnings.push(`the data set starts after ${start.offset} unexpected leading byte(s), which were skipped`);
  }
  const body = bytes.subarray(start.offset);

  if (start.group === 0x0002) {
    // File meta without the preamble: give it a zero preamble and "DICM" so it parses as Part 10.
    const withPreamble = new Uint8Array(132 + body.length);
    withPreamble.set([0x44, 0x49, 0x43, 0x4d], 128);
    withPreamble.set(body, 132);
    const dataSet = parseWithOptions(withPreamble, file);
    return {
      dataSet,
      transferSyntaxUid: transferSyntaxOf(dataSet),
      layout: 'meta-without-preamble',
      warnings,
    };
  }

  const transferSyntaxUid = start.explicit ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
  warnings.push(
    `no file meta information: read as ${start.explicit ? 'explicit' : 'implicit'} VR little endian`,
  );
  const dataSet = parseWithOptions(body, file, transferSyntaxUid);
  return { dataSet, transferSyntaxUid, layout: 'bare-data-set', warnings };
}

function transferSyntaxOf(dataSet: DataSet): string {
  const uid = dataSet.string('x00020010');
  return uid ? uid.replace(/\0/g, '').trim() : IMPLICIT_VR_LITTLE_ENDIAN;
}
