/**
 * The authors' evaluation preprocessing of a lesion crop: resize to 224 x 224 with PIL's bilinear filter,
 * replicate grey to three channels, scale to [0, 1] (x / 255) and normalise with mean 0.5 and std 0.5,
 * giving values in [-1, 1] in NCHW float32.
 *
 * The resize reproduces Pillow's 8-bit resampling (Pillow 9.x, `Image.resize(size, Image.BILINEAR)`): a
 * separable triangle filter whose support widens with the downscaling factor (antialiasing when shrinking, plain
 * bilinear interpolation with pixel centres at i + 0.5 when enlarging), fixed-point weights with 22 fractional
 * bits, and rounding and clipping to 8 bits after the horizontal pass and again after the vertical pass.
 */
import { access, constants, readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { LilnetError } from '../errors.ts';
import { decodeBmp } from '../imaging/bmp.ts';
import { moduleLogger } from '../log.ts';

const log = moduleLogger('nn.preprocess');

/** Input side of the classifiers, in pixels. */
export const MODEL_INPUT_SIZE_PX = 224;

const PRECISION_BITS = 32 - 8 - 2;

/** An 8-bit image with one (grey) or three (RGB) interleaved channels. */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

interface ResampleCoefficients {
  /** First source pixel of each output pixel. */
  start: Int32Array;
  /** Number of source pixels of each output pixel. */
  count: Int32Array;
  /** Fixed-point weights, `maxCount` per output pixel. */
  weights: Int32Array;
  maxCount: number;
}

function bilinearFilter(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Weights of a 1-D resize from `inSize` to `outSize` pixels, as Pillow's bilinear filter computes them. */
function resampleCoefficients(inSize: number, outSize: number): ResampleCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const inverseFilterScale = 1 / filterScale;
  const maxCount = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * maxCount);
  const real = new Float64Array(maxCount);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    // Pillow truncates toward zero here (C casts), which equals floor for these non-negative values.
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const last = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const n = last - first;
    let total = 0;
    for (let k = 0; k < n; k++) {
      real[k] = bilinearFilter((k + first - centre + 0.5) * inverseFilterScale);
      total += real[k];
    }
    for (let k = 0; k < n; k++) {
      const w = total !== 0 ? real[k] / total : 0;
      weights[i * maxCount + k] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    start[i] = first;
    count[i] = n;
  }
  return { start, count, weights, maxCount };
}

function clip8(accumulator: number): number {
  const value = Math.floor(accumulator / (1 << PRECISION_BITS));
  return Math.min(255, Math.max(0, value));
}

/** Resizes one 8-bit plane (width x height) to (outWidth x outHeight), horizontal pass first, as Pillow does. */
function resizePlane(
  plane: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const rounding = 1 << (PRECISION_BITS - 1);
  let current = plane;
  let currentWidth = width;
  if (outWidth !== width) {
    const h = resampleCoefficients(width, outWidth);
    const next = new Uint8Array(outWidth * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outWidth; x++) {
        let sum = rounding;
        const base = x * h.maxCount;
        for (let k = 0; k < h.count[x]; k++) sum += current[y * width + h.start[x] + k] * h.weights[base + k];
        next[y * outWidth + x] = clip8(sum);
      }
    }
    current = next;
    currentWidth = outWidth;
  }
  if (outHeight !== height) {
    const v = resampleCoefficients(height, outHeight);
    const next = new Uint8Array(currentWidth * outHeight);
    for (let y = 0; y < outHeight; y++) {
      const base = y * v.maxCount;
      for (let x = 0; x < currentWidth; x++) {
        let sum = rounding;
        for (let k = 0; k < v.count[y]; k++)
          sum += current[(v.start[y] + k) * currentWidth + x] * v.weights[base + k];
        next[y * currentWidth + x] = clip8(sum);
      }
    }
    current = next;
  }
  return current;
}

/** Resizes an 8-bit image with Pillow's bilinear resampling (see the file header). */
export function resizeBilinearPil(image: Image8, outWidth: number, outHeight: number): Image8 {
  const { width, height, channels } = image;
  const out = new Uint8Array(outWidth * outHeight * channels);
  const plane = new Uint8Array(width * height);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < width * height; i++) plane[i] = image.data[i * channels + c];
    const resized = resizePlane(plane, width, height, outWidth, outHeight);
    for (let i = 0; i < outWidth * outHeight; i++) out[i * channels + c] = resized[i];
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

/**
 * Converts an 8-bit image to the model input `[3, size, size]`: resize, grey replicated to three channels,
 * x / 255, then (x - 0.5) / 0.5. Writes into `out` at `offset` when given (to fill a batch in place).
 */
export function imageToModelInput(
  image: Image8,
  sizePx = MODEL_INPUT_SIZE_PX,
  out: Float32Array = new Float32Array(3 * sizePx * sizePx),
  offset = 0,
): Float32Array {
  const resized =
    image.width === sizePx && image.height === sizePx ? image : resizeBilinearPil(image, sizePx, sizePx);
  const planeSize = sizePx * sizePx;
  for (let c = 0; c < 3; c++) {
    const source = resized.channels === 1 ? 0 : c;
    for (let i = 0; i < planeSize; i++) {
      // Float32 arithmetic in the same order as torchvision: ToTensor divides by 255, Normalize subtracts and divides.
      const unit = Math.fround(resized.data[i * resized.channels + source] / 255);
      out[offset + c * planeSize + i] = Math.fround(Math.fround(unit - 0.5) / 0.5);
    }
  }
  return out;
}

/** Decodes an image file (PNG, JPEG, TIFF, ...) into 8-bit grey or RGB pixels, dropping any alpha channel. */
export async function readImage8(path: string): Promise<Image8> {
  let isFolder: boolean;
  try {
    await access(path, constants.R_OK);
    isFolder = (await stat(path)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    throw new LilnetError(code, `cannot read image ${path}: ${(error as Error).message}`, {
      file: path,
      hint: 'check the image path and its permissions',
      cause: error,
    });
  }
  if (isFolder) {
    throw new LilnetError('INVALID_ARGUMENT', `${path} is a folder, not an image file`, {
      file: path,
      hint: 'pass the crop files themselves, e.g. crops/*.png',
    });
  }
  const bytes = new Uint8Array(await readFile(path));
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    // The authors' crops are BMP files, which sharp (libvips) does not read.
    const bmp = decodeBmp(bytes, path);
    return { width: bmp.width, height: bmp.height, channels: bmp.channels, data: bmp.data };
  }
  try {
    const metadata = await sharp(bytes).metadata();
    if (metadata.depth === 'ushort') {
      // Pillow's convert('L') and convert('RGB') clip 16-bit values above 255, while sharp scales them.
      log.warn(
        { file: path },
        "16-bit image reduced to 8 bits by value / 257; Pillow clips such values at 255, so outputs differ from the authors' pipeline: pass 8-bit crops",
      );
    }
    // sharp converts grey to sRGB by default. Grey files stay one channel here, as PIL's mode L.
    let pipeline = sharp(bytes).removeAlpha();
    if ((metadata.channels ?? 3) <= 2) pipeline = pipeline.toColourspace('b-w');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) {
      throw new Error(`${info.channels} channels after removing alpha`);
    }
    return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data) };
  } catch (error) {
    throw new LilnetError('UNSUPPORTED_FORMAT', `cannot decode image ${path}: ${(error as Error).message}`, {
      file: path,
      hint: 'pass 8-bit grey or RGB crops as PNG, JPEG or BMP files',
      cause: error,
    });
  }
}

/** Reads image files and stacks them into an NCHW float32 batch for the classifiers. */
export async function imagesToBatch(
  paths: readonly string[],
  sizePx = MODEL_INPUT_SIZE_PX,
): Promise<Float32Array> {
  const perImage = 3 * sizePx * sizePx;
  const batch = new Float32Array(paths.length * perImage);
  for (let i = 0; i < paths.length; i++)
    imageToModelInput(await readImage8(paths[i]), sizePx, batch, i * perImage);
  return batch;
}
