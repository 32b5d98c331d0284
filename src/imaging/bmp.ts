/**
 * A decoder for uncompressed Windows BMP files (BITMAPINFOHEADER and later headers): 8-bit palette, 24-bit BGR
 * and 32-bit BGRA/BGRX, bottom-up or top-down. sharp (libvips) does not read BMP, and CT slice exports use only
 * these layouts. RLE-compressed BMPs are rejected.
 */
import { LilnetError } from '../errors.ts';

export interface DecodedBmp {
  width: number;
  height: number;
  /** 1 (grey palette) or 3 (RGB). */
  channels: 1 | 3;
  /** Row-major samples, top row first, channels interleaved. */
  data: Uint8Array;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;

function invalid(file: string, reason: string): LilnetError {
  return new LilnetError('IMAGE_INVALID', `BMP file ${file} cannot be read: ${reason}`, {
    file,
    hint: 'save the slice as uncompressed 8-, 24- or 32-bit BMP, or as PNG',
  });
}

export function decodeBmp(bytes: Uint8Array, file: string): DecodedBmp {
  if (bytes.length < 2 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw invalid(file, 'no "BM" signature');
  if (bytes.length < 54) {
    throw invalid(
      file,
      `the file ends after ${bytes.length} bytes, inside the 54-byte header: it is truncated`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) throw invalid(file, `header size ${headerSize} (OS/2 bitmaps are not supported)`);
  const width = view.getInt32(18, true);
  const signedHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(signedHeight);
  const topDown = signedHeight < 0;
  if (width <= 0 || height === 0) throw invalid(file, `size ${width} x ${signedHeight}`);
  if (compression !== BI_RGB && !(compression === BI_BITFIELDS && bitsPerPixel === 32)) {
    throw invalid(file, `compression ${compression} (only uncompressed BMP is read)`);
  }
  if (![8, 24, 32].includes(bitsPerPixel))
    throw invalid(file, `${bitsPerPixel} bits per pixel (8, 24 or 32 expected)`);

  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (pixelOffset + rowBytes * height > bytes.length) throw invalid(file, 'the pixel array is truncated');

  let palette: Uint8Array | undefined;
  let greyPalette = false;
  if (bitsPerPixel === 8) {
    const colours = view.getUint32(46, true) || 256;
    const paletteOffset = 14 + headerSize;
    palette = bytes.subarray(paletteOffset, paletteOffset + colours * 4);
    greyPalette = true;
    for (let i = 0; i < colours; i++) {
      if (palette[i * 4] !== palette[i * 4 + 1] || palette[i * 4 + 1] !== palette[i * 4 + 2])
        greyPalette = false;
    }
  }

  const channels: 1 | 3 = greyPalette ? 1 : 3;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const sourceRow = topDown ? y : height - 1 - y;
    const rowStart = pixelOffset + sourceRow * rowBytes;
    for (let x = 0; x < width; x++) {
      const target = (y * width + x) * channels;
      if (bitsPerPixel === 8) {
        const entry = bytes[rowStart + x] * 4;
        if (channels === 1) {
          data[target] = palette![entry];
        } else {
          data[target] = palette![entry + 2];
          data[target + 1] = palette![entry + 1];
          data[target + 2] = palette![entry];
        }
      } else {
        const source = rowStart + x * (bitsPerPixel / 8);
        data[target] = bytes[source + 2];
        data[target + 1] = bytes[source + 1];
        data[target + 2] = bytes[source];
      }
    }
  }
  return { width, height, channels, data };
}
