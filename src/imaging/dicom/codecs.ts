/**
 * Decoders for encapsulated (compressed) DICOM pixel data. dcmjs-codecs (WebAssembly builds of the field's
 * codec libraries) handles RLE, JPEG baseline and lossless, JPEG-LS, JPEG 2000, HTJ2K and JPEG XL. JPEG extended
 * (12-bit, 1.2.840.10008.1.2.4.51) goes to the JPEG decoder of @cornerstonejs/dicom-image-loader, because the
 * dcmjs-codecs JPEG build is 8-bit only.
 *
 * Every decoder returns the frame as little-endian words of BitsAllocated bits, samples interleaved.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import dcmjsCodecs from 'dcmjs-codecs';
import { LilnetError } from '../../errors.ts';
import type { ImageAttributes } from './attributes.ts';

const { NativeCodecs, Context } = dcmjsCodecs;

export const TRANSFER_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline (8-bit)',
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless, first-order prediction',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.110': 'JPEG XL lossless',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

type NativeDecoder = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg-2000' | 'htj2k' | 'jpeg-xl' | 'jpeg-12-bit';

const DECODER_BY_SYNTAX: Record<string, NativeDecoder> = {
  '1.2.840.10008.1.2.5': 'rle',
  '1.2.840.10008.1.2.4.50': 'jpeg',
  '1.2.840.10008.1.2.4.51': 'jpeg-12-bit',
  '1.2.840.10008.1.2.4.57': 'jpeg',
  '1.2.840.10008.1.2.4.70': 'jpeg',
  '1.2.840.10008.1.2.4.80': 'jpeg-ls',
  '1.2.840.10008.1.2.4.81': 'jpeg-ls',
  '1.2.840.10008.1.2.4.90': 'jpeg-2000',
  '1.2.840.10008.1.2.4.91': 'jpeg-2000',
  '1.2.840.10008.1.2.4.110': 'jpeg-xl',
  '1.2.840.10008.1.2.4.112': 'jpeg-xl',
  '1.2.840.10008.1.2.4.201': 'htj2k',
  '1.2.840.10008.1.2.4.202': 'htj2k',
  '1.2.840.10008.1.2.4.203': 'htj2k',
};

export function isEncapsulatedSyntaxSupported(transferSyntaxUid: string): boolean {
  return transferSyntaxUid in DECODER_BY_SYNTAX;
}

let nativeCodecsReady: Promise<void> | undefined;

function initializeNativeCodecs(): Promise<void> {
  nativeCodecsReady ??= NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
  return nativeCodecsReady;
}

interface JpegImageInstance {
  parse(data: Uint8Array): void;
  width: number;
  height: number;
  colorTransform?: boolean;
  getData(width: number, height: number): Uint8Array;
  getData16(width: number, height: number): Uint16Array;
}

let jpegImageClass: Promise<new () => JpegImageInstance> | undefined;

/**
 * Loads the 12-bit capable JPEG decoder. The package's `exports` map hides its codec folder, so the file is
 * located from the package root and imported by URL.
 */
function loadJpegImageClass(): Promise<new () => JpegImageInstance> {
  jpegImageClass ??= (async () => {
    const require = createRequire(import.meta.url);
    const packageJson = require.resolve('@cornerstonejs/dicom-image-loader/package.json');
    const url = pathToFileURL(join(dirname(packageJson), 'dist/esm/codecs/jpeg.js')).href;
    const module = (await import(url)) as { default: new () => JpegImageInstance };
    return module.default;
  })();
  return jpegImageClass;
}

function decodeWithNativeCodecs(
  decoder: NativeDecoder,
  encoded: Uint8Array,
  attributes: ImageAttributes,
): Uint8Array {
  const context = new Context({
    width: attributes.columns,
    height: attributes.rows,
    bitsAllocated: attributes.bitsAllocated,
    bitsStored: attributes.bitsStored,
    samplesPerPixel: attributes.samplesPerPixel,
    pixelRepresentation: attributes.pixelRepresentation,
    planarConfiguration: attributes.planarConfiguration,
    photometricInterpretation: attributes.photometricInterpretation,
    encodedBuffer: encoded,
  });
  let result: InstanceType<typeof Context>;
  switch (decoder) {
    case 'rle':
      result = NativeCodecs.decodeRle(context);
      break;
    case 'jpeg':
      result = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: true });
      break;
    case 'jpeg-ls':
      result = NativeCodecs.decodeJpegLs(context);
      break;
    case 'jpeg-2000':
      result = NativeCodecs.decodeJpeg2000(context);
      break;
    case 'htj2k':
      result = NativeCodecs.decodeHtJpeg2000(context);
      break;
    case 'jpeg-xl':
      result = NativeCodecs.decodeJpegXl(context);
      break;
    default:
      throw new Error(`decoder ${decoder} is not a dcmjs-codecs decoder`);
  }
  const decoded = result.getDecodedBuffer();
  if (!decoded) throw new Error('the codec returned no decoded buffer');
  return decoded;
}

async function decodeJpeg12Bit(encoded: Uint8Array, attributes: ImageAttributes): Promise<Uint8Array> {
  const JpegImage = await loadJpegImageClass();
  const jpeg = new JpegImage();
  jpeg.parse(encoded);
  if (attributes.bitsAllocated <= 8) {
    return jpeg.getData(attributes.columns, attributes.rows);
  }
  const words = jpeg.getData16(attributes.columns, attributes.rows);
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Decodes one encapsulated frame; throws DICOM_PIXEL_DECODE_FAILED naming the file and transfer syntax. */
export async function decodeEncapsulatedFrame(
  transferSyntaxUid: string,
  encoded: Uint8Array,
  attributes: ImageAttributes,
  file: string,
): Promise<Uint8Array> {
  const decoder = DECODER_BY_SYNTAX[transferSyntaxUid];
  const syntaxName = TRANSFER_SYNTAX_NAMES[transferSyntaxUid] ?? 'unknown';
  if (decoder === undefined) {
    throw new LilnetError(
      'DICOM_PIXEL_DECODE_FAILED',
      `file ${file} uses transfer syntax ${transferSyntaxUid} (${syntaxName}), which lilnet cannot decode`,
      {
        file,
        hint: 'convert the file to explicit VR little endian (e.g. `dcmconv +te` or `gdcmconv --raw`)',
      },
    );
  }
  try {
    if (decoder === 'jpeg-12-bit') return await decodeJpeg12Bit(encoded, attributes);
    await initializeNativeCodecs();
    return decodeWithNativeCodecs(decoder, encoded, attributes);
  } catch (error) {
    throw new LilnetError(
      'DICOM_PIXEL_DECODE_FAILED',
      `decoding the ${syntaxName} pixel data of ${file} failed: ${(error as Error)?.message ?? String(error)}`,
      {
        file,
        hint: 'the compressed stream may be damaged: export the series again, uncompressed if possible',
        cause: error,
      },
    );
  }
}

export interface Jpeg2000Components {
  signed: boolean;
  precision: number;
}

/**
 * Reads the sign and precision of the first component from the SIZ marker segment of a JPEG 2000 codestream
 * (ISO/IEC 15444-1 annex A.5.1: Ssiz bit 7 is the sign, bits 0-6 are the precision minus 1).
 */
export function readJpeg2000Components(encoded: Uint8Array): Jpeg2000Components | undefined {
  const searchLimit = Math.min(encoded.length - 42, 4096);
  for (let i = 0; i < searchLimit; i++) {
    if (encoded[i] === 0xff && encoded[i + 1] === 0x51) {
      const ssiz = encoded[i + 40];
      return { signed: (ssiz & 0x80) !== 0, precision: (ssiz & 0x7f) + 1 };
    }
  }
  return undefined;
}
