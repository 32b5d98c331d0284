/**
 * The inputs of `lilnet detect`: slice image files, folders of slice images (each slice on its own), and cases
 * (DICOM or NIfTI files or folders, or any folder with `--case`), whose series are read by the imaging readers
 * and windowed to grey.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LilnetError } from '../errors.ts';
import { readCase } from '../imaging/read-case.ts';
import { decodeSliceImage, isSliceImageFile, orderSliceFiles } from '../imaging/slice-images.ts';
import { applyWindow, defaultWindow } from '../imaging/window.ts';
import { sliceView, type DisplayWindow, type Series } from '../imaging/volume.ts';
import type { GreySlice } from './slice-image.ts';

/**
 * Window for Hounsfield-unit series: W350/L50, the window `lilnet synth` renders its detection slices with, so a
 * phantom-trained detector gets CT in the grey levels it was trained on.
 */
export const DEFAULT_DETECTION_WINDOW: DisplayWindow = { centre: 50, width: 350 };

export interface DetectionSlice {
  /** The slice file, or `<series id>#<slice index>` for multi-slice files. */
  file: string;
  grey: GreySlice;
  /** Set for slices of a case. */
  series?: Series;
  sliceIndex?: number;
}

export interface DetectionInput {
  slices: DetectionSlice[];
  /** Series read from cases, for grouping boxes into lesions. */
  series: Series[];
  warnings: string[];
}

function greyFromValues(
  values: Float32Array,
  width: number,
  height: number,
  window: DisplayWindow,
): GreySlice {
  const bytes = applyWindow(values, window);
  const pixels = new Float32Array(bytes.length);
  for (let index = 0; index < bytes.length; index++) pixels[index] = bytes[index] / 255;
  return { width, height, pixels };
}

function isCaseFolder(folder: string): boolean {
  return readdirSync(folder).some((name) => {
    if (name.startsWith('.')) return false;
    const path = join(folder, name);
    return statSync(path).isDirectory() || !isSliceImageFile(name);
  });
}

/** Reads every path into grey slices; `hounsfieldWindow` applies to HU series. */
export async function readDetectionInputs(
  paths: readonly string[],
  options: { forceCase: boolean; hounsfieldWindow: DisplayWindow },
): Promise<DetectionInput> {
  const input: DetectionInput = { slices: [], series: [], warnings: [] };
  for (const path of paths) {
    let isFolder: boolean;
    try {
      isFolder = statSync(path).isDirectory();
    } catch (error) {
      throw new LilnetError('FILE_NOT_FOUND', `input ${path} not found`, {
        hint: 'pass slice images, folders of slice images, or a case (DICOM or NIfTI file or folder)',
        file: path,
        cause: error,
      });
    }

    if (!options.forceCase && !isFolder && isSliceImageFile(path)) {
      input.slices.push(await readStandaloneSlice(path));
      continue;
    }
    if (!options.forceCase && isFolder && !isCaseFolder(path)) {
      const files = orderSliceFiles(
        readdirSync(path)
          .filter(isSliceImageFile)
          .map((name) => join(path, name)),
      );
      for (const file of files) input.slices.push(await readStandaloneSlice(file));
      continue;
    }

    const ctCase = await readCase(path);
    input.warnings.push(
      ...ctCase.warnings,
      ...ctCase.failedFiles.map((failed) => `${failed.file}: ${failed.reason}`),
    );
    for (const series of ctCase.series) {
      const notCt = notCtReason(series);
      if (notCt)
        input.warnings.push(
          `series ${series.id}: ${notCt}; the detector was trained on CT slices, so its boxes there mean little`,
        );
      input.series.push(series);
      const [width, height, sliceCount] = series.geometry.dimensions;
      const window = series.unit === 'HU' ? options.hounsfieldWindow : defaultWindow(series);
      for (let z = 0; z < sliceCount; z++) {
        const file = series.sliceFiles.length === sliceCount ? series.sliceFiles[z] : `${series.id}#${z}`;
        input.slices.push({
          file,
          grey: greyFromValues(sliceView(series, z), width, height, window),
          series,
          sliceIndex: z,
        });
      }
    }
  }
  if (input.slices.length === 0) {
    throw new LilnetError('INVALID_ARGUMENT', `no slice found in ${paths.join(', ')}`, {
      hint: 'pass slice images (PNG, JPEG, BMP), folders of them, or a DICOM or NIfTI case',
    });
  }
  return input;
}

/** Returns why a series is not a CT image series (another modality, or a segmentation), or null. */
function notCtReason(series: Series): string | null {
  if (series.modality && series.modality.toUpperCase() !== 'CT')
    return `its modality is ${series.modality}, not CT`;
  if (series.unit === 'label') return 'it holds segment labels, not an image';
  return null;
}

async function readStandaloneSlice(file: string): Promise<DetectionSlice> {
  const image = await decodeSliceImage(file);
  const window: DisplayWindow =
    image.bitDepth === 16 ? rangeWindow(image.values) : { centre: 128, width: 256 };
  return { file, grey: greyFromValues(image.values, image.width, image.height, window) };
}

/** Full-range window for 16-bit grey images, which carry no window of their own. */
function rangeWindow(values: Float32Array): DisplayWindow {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return max > min ? { centre: (min + max) / 2 + 0.5, width: max - min + 1 } : { centre: 128, width: 256 };
}
