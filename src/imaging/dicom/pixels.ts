/**
 * Extraction of DICOM pixel data as stored values: native (uncompressed) data in any byte order, bit-packed
 * 1-bit segmentation frames, and encapsulated frames through the codecs. Stored values are masked to BitsStored
 * bits below HighBit and sign-extended when PixelRepresentation is 1, so `(stored * slope + intercept)` is the
 * modality value (Hounsfield units for CT).
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { LilnetError } from '../../errors.ts';
import type { ImageAttributes } from './attributes.ts';
import { decodeEncapsulatedFrame, readJpeg2000Components } from './codecs.ts';
import { EXPLICIT_VR_BIG_ENDIAN } from './parse.ts';

const JPEG_2000_SYNTAXES = new Set([
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
]);
const JPEG_PROCESS_SYNTAXES = new Set([
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
]);

export interface StoredFrames {
  /**
   * Stored values of all frames, frame after frame, each `columns * rows * samplesPerPixel` values. Full 16-bit
   * little-endian data comes back as a view of the file bytes (no copy); everything else as Int32Array.
   */
  values: Int32Array | Int16Array | Uint16Array;
  frameCount: number;
  warnings: string[];
}

interface BitLayout {
  shift: number;
  mask: number;
  signBit: number;
  signed: boolean;
  bitsStored: number;
}

function bitLayout(
  attributes: ImageAttributes,
  bitsStored = attributes.bitsStored,
  signed?: boolean,
): BitLayout {
  const highBit = bitsStored === attributes.bitsStored ? attributes.highBit : bitsStored - 1;
  return {
    shift: Math.max(0, highBit + 1 - bitsStored),
    mask: bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1,
    signBit: 2 ** (bitsStored - 1),
    signed: signed ?? attributes.pixelRepresentation === 1,
    bitsStored,
  };
}

/** Converts little-endian words of BitsAllocated bits into stored values, writing into `out` at `offset`. */
function wordsToStored(
  bytes: Uint8Array,
  bitsAllocated: number,
  layout: BitLayout,
  out: Int32Array,
  offset: number,
  count: number,
): void {
  const { shift, mask, signBit, signed, bitsStored } = layout;
  const full = 2 ** bitsStored;
  if (bitsAllocated === 16) {
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    const words = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
    if (shift === 0 && bitsStored === 16) {
      if (signed) {
        const signedWords = new Int16Array(aligned.buffer, aligned.byteOffset, count);
        for (let i = 0; i < count; i++) out[offset + i] = signedWords[i];
      } else {
        for (let i = 0; i < count; i++) out[offset + i] = words[i];
      }
      return;
    }
    for (let i = 0; i < count; i++) {
      const value = (words[i] >> shift) & mask;
      out[offset + i] = signed && value & signBit ? value - full : value;
    }
    return;
  }
  if (bitsAllocated === 8) {
    for (let i = 0; i < count; i++) {
      const value = (bytes[i] >> shift) & mask;
      out[offset + i] = signed && value & signBit ? value - full : value;
    }
    return;
  }
  if (bitsAllocated === 32) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, count * 4);
    for (let i = 0; i < count; i++) {
      const raw = view.getUint32(i * 4, true);
      const value = bitsStored >= 32 ? raw : Math.floor(raw / 2 ** shift) % full;
      out[offset + i] = signed && value >= signBit ? value - full : value;
    }
    return;
  }
  throw new Error(`BitsAllocated ${bitsAllocated} is not 1, 8, 16 or 32`);
}

function swapWordBytes(bytes: Uint8Array, bitsAllocated: number): Uint8Array {
  const copy = bytes.slice();
  const size = bitsAllocated / 8;
  if (size <= 1) return copy;
  for (let i = 0; i + size <= copy.length; i += size) copy.subarray(i, i + size).reverse();
  return copy;
}

function unpackBits(bytes: Uint8Array, out: Int32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
}

function readNativeFrames(
  dataSet: DataSet,
  element: Element,
  attributes: ImageAttributes,
  transferSyntaxUid: string,
  file: string,
): StoredFrames {
  const samplesPerFrame = attributes.columns * attributes.rows * attributes.samplesPerPixel;
  const frameCount = attributes.numberOfFrames;
  const total = samplesPerFrame * frameCount;
  const bytes = new Uint8Array(
    dataSet.byteArray.buffer,
    dataSet.byteArray.byteOffset + element.dataOffset,
    Math.min(element.length, dataSet.byteArray.length - element.dataOffset),
  );
  const neededBytes =
    attributes.bitsAllocated === 1 ? Math.ceil(total / 8) : total * (attributes.bitsAllocated / 8);
  if (bytes.length < neededBytes) {
    throw new LilnetError(
      'DICOM_INVALID',
      `pixel data of ${file} has ${bytes.length} bytes, expected ${neededBytes} for ${frameCount} frame(s) of ` +
        `${attributes.columns} x ${attributes.rows}`,
      { file, hint: 'the file is truncated or its Rows/Columns/NumberOfFrames are wrong: export it again' },
    );
  }
  const values = new Int32Array(total);
  if (attributes.bitsAllocated === 1) {
    unpackBits(bytes, values);
    return { values, frameCount, warnings: [] };
  }
  const littleEndian =
    transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN
      ? swapWordBytes(bytes.subarray(0, neededBytes), attributes.bitsAllocated)
      : bytes;
  const layout = bitLayout(attributes);
  if (attributes.bitsAllocated === 16 && layout.bitsStored === 16 && layout.shift === 0) {
    // The common CT case: the words are the stored values, so view them in place of copying.
    const aligned = littleEndian.byteOffset % 2 === 0 ? littleEndian : littleEndian.slice(0, neededBytes);
    const view = layout.signed
      ? new Int16Array(aligned.buffer, aligned.byteOffset, total)
      : new Uint16Array(aligned.buffer, aligned.byteOffset, total);
    return { values: view, frameCount, warnings: [] };
  }
  wordsToStored(littleEndian, attributes.bitsAllocated, layout, values, 0, total);
  return { values, frameCount, warnings: [] };
}

function encapsulatedFrameBytes(
  dataSet: DataSet,
  element: Element,
  frameIndex: number,
  frameCount: number,
  transferSyntaxUid: string,
): Uint8Array {
  const fragments = element.fragments ?? [];
  if (frameCount === 1) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  }
  if ((element.basicOffsetTable ?? []).length > 0) {
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, frameIndex);
  }
  if (fragments.length === frameCount) {
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, frameIndex, 1);
  }
  if (JPEG_PROCESS_SYNTAXES.has(transferSyntaxUid)) {
    const table = dicomParser.createJPEGBasicOffsetTable(dataSet, element);
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, frameIndex, table);
  }
  throw new Error(
    `cannot split ${fragments.length} fragments into ${frameCount} frames without a basic offset table`,
  );
}

async function readEncapsulatedFrames(
  dataSet: DataSet,
  element: Element,
  attributes: ImageAttributes,
  transferSyntaxUid: string,
  file: string,
): Promise<StoredFrames> {
  const samplesPerFrame = attributes.columns * attributes.rows * attributes.samplesPerPixel;
  const frameCount = attributes.numberOfFrames;
  const values = new Int32Array(samplesPerFrame * frameCount);
  const warnings: string[] = [];
  for (let frame = 0; frame < frameCount; frame++) {
    let encoded: Uint8Array;
    try {
      encoded = encapsulatedFrameBytes(dataSet, element, frame, frameCount, transferSyntaxUid);
    } catch (error) {
      throw new LilnetError(
        'DICOM_INVALID',
        `frame ${frame + 1} of ${file} cannot be located in its pixel data: ${String((error as Error)?.message ?? error)}`,
        {
          file,
          hint: 'the encapsulated pixel data is damaged or truncated: export the series again',
        },
      );
    }
    const decoded = await decodeEncapsulatedFrame(transferSyntaxUid, encoded, attributes, file);
    const bytesPerSample = attributes.bitsAllocated / 8;
    if (decoded.length < samplesPerFrame * bytesPerSample) {
      throw new LilnetError(
        'DICOM_PIXEL_DECODE_FAILED',
        `decoded frame ${frame + 1} of ${file} has ${decoded.length} bytes, expected ${samplesPerFrame * bytesPerSample}`,
        {
          file,
          hint: 'the compressed stream does not match Rows, Columns and BitsAllocated: export the series again',
        },
      );
    }

    let layout = bitLayout(attributes);
    if (JPEG_2000_SYNTAXES.has(transferSyntaxUid)) {
      // A JPEG 2000 stream states its own sign and precision. When they disagree with PixelRepresentation
      // (a known encoder fault), the decoded words are read with the stream's precision, sign-extended
      // according to PixelRepresentation, as pydicom does.
      const components = readJpeg2000Components(encoded);
      if (components && components.signed !== (attributes.pixelRepresentation === 1)) {
        layout = bitLayout(
          attributes,
          Math.min(components.precision, attributes.bitsAllocated),
          attributes.pixelRepresentation === 1,
        );
        if (frame === 0) {
          warnings.push(
            `JPEG 2000 stream is ${components.signed ? 'signed' : 'unsigned'} ${components.precision}-bit while ` +
              `PixelRepresentation is ${attributes.pixelRepresentation}: values were corrected to PixelRepresentation`,
          );
        }
      }
    }
    wordsToStored(
      decoded,
      attributes.bitsAllocated,
      layout,
      values,
      frame * samplesPerFrame,
      samplesPerFrame,
    );
  }
  return { values, frameCount, warnings };
}

/** Reads all frames of a data set as stored values. */
export async function readStoredFrames(
  dataSet: DataSet,
  attributes: ImageAttributes,
  transferSyntaxUid: string,
  file: string,
): Promise<StoredFrames> {
  const element = dataSet.elements.x7fe00010;
  if (!element) {
    throw new LilnetError('DICOM_NOT_IMAGE', `DICOM file ${file} has no pixel data`, {
      file,
      hint: 'remove non-image objects from the folder',
    });
  }
  if (![1, 8, 16, 32].includes(attributes.bitsAllocated)) {
    throw new LilnetError(
      'DICOM_INVALID',
      `file ${file} has BitsAllocated ${attributes.bitsAllocated}, expected 1, 8, 16 or 32`,
      {
        file,
        hint: 'the image header is damaged: export the series again',
      },
    );
  }
  if (element.encapsulatedPixelData)
    return readEncapsulatedFrames(dataSet, element, attributes, transferSyntaxUid, file);
  return readNativeFrames(dataSet, element, attributes, transferSyntaxUid, file);
}
