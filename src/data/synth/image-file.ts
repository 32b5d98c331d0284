/** Writes 8-bit grey images (PNG or JPEG) through sharp. */
import sharp from 'sharp';

export type GreyImageFormat = 'png' | 'jpg';

export async function writeGreyImage(
  path: string,
  pixels: Uint8Array,
  width: number,
  height: number,
  format: GreyImageFormat,
): Promise<void> {
  const image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 1 },
  }).toColourspace('b-w');
  if (format === 'png') await image.png({ compressionLevel: 6 }).toFile(path);
  else await image.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(path);
}

/** Copies a rectangle [x0, x0 + width) x [y0, y0 + height) out of a row-major grey image. */
export function cropGrey(
  pixels: Uint8Array,
  imageWidth: number,
  x0: number,
  y0: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let row = 0; row < height; row++) {
    const start = (y0 + row) * imageWidth + x0;
    out.set(pixels.subarray(start, start + width), row * width);
  }
  return out;
}
