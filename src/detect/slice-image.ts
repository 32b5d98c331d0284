/**
 * Reading of display-ready slice images (PNG, JPEG, BMP, TIFF) as grey values on the [0, 1] scale, the form
 * the detector input takes. Colour images are converted to luminance.
 */
import sharp from 'sharp';
import { LilnetError } from '../errors.ts';

export interface GreySlice {
  width: number;
  height: number;
  /** Row-major grey values in [0, 1]. */
  pixels: Float32Array;
}

export const SLICE_IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'];

export async function readGreySlice(file: string): Promise<GreySlice> {
  try {
    const { data, info } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
    const pixels = new Float32Array(info.width * info.height);
    const channels = info.channels;
    for (let index = 0; index < pixels.length; index++) pixels[index] = data[index * channels] / 255;
    return { width: info.width, height: info.height, pixels };
  } catch (error) {
    throw new LilnetError(
      'UNSUPPORTED_FORMAT',
      `cannot read slice image ${file}: ${(error as Error).message}`,
      {
        hint: 'slice images must be PNG, JPEG, BMP or TIFF files',
        file,
        cause: error,
      },
    );
  }
}
