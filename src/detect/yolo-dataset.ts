/**
 * A YOLO detection dataset on disk: `images/` and `labels/` under a root, either split into subfolders
 * (`images/train`, `images/val`, as `lilnet synth` and Ultralytics lay them out) or flat. A flat dataset is
 * split into training and validation images by a hash of the file name, so the split does not depend on the
 * listing order.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LilnetError } from '../errors.ts';
import { hashSeed } from '../data/rng.ts';
import type { Box } from './box.ts';
import { imageKey } from './detections-file.ts';
import { letterboxSlice, sliceToLetterbox } from './letterbox.ts';
import { readGreySlice, SLICE_IMAGE_EXTENSIONS } from './slice-image.ts';
import { readYoloLabelFile, yoloLabelToBox } from './yolo-labels.ts';

export interface YoloSample {
  name: string;
  image: string;
  /** Absent when the image has no label file, which means it shows no lesion. */
  labelFile?: string;
}

export interface YoloDataset {
  root: string;
  train: YoloSample[];
  val: YoloSample[];
}

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function listSamples(imageFolder: string, labelFolder: string): YoloSample[] {
  return readdirSync(imageFolder)
    .filter((name) => SLICE_IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => {
      const labelFile = join(labelFolder, `${imageKey(name)}.txt`);
      const sample: YoloSample = { name: imageKey(name), image: join(imageFolder, name) };
      if (existsSync(labelFile)) sample.labelFile = labelFile;
      return sample;
    });
}

function stringHash(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index++) hash = hashSeed(hash, text.charCodeAt(index));
  return hash;
}

/** Lists a dataset; `valFraction` applies when the dataset has no non-empty val/ split of its own. */
export function openYoloDataset(root: string, valFraction = 0.1): YoloDataset {
  const images = join(root, 'images');
  const labels = join(root, 'labels');
  if (!isFolder(images) || !isFolder(labels)) {
    throw new LilnetError('DETECTION_DATASET_INVALID', `${root} has no images/ and labels/ folders`, {
      hint: 'pass the root of a YOLO dataset, e.g. the detection/ folder that `lilnet synth` writes',
      file: root,
    });
  }
  let dataset: YoloDataset;
  const threshold = valFraction * 2 ** 32;
  const splitByHash = (all: YoloSample[]): YoloDataset => ({
    root,
    train: all.filter((sample) => stringHash(sample.name) >= threshold),
    val: all.filter((sample) => stringHash(sample.name) < threshold),
  });
  if (isFolder(join(images, 'train'))) {
    const train = listSamples(join(images, 'train'), join(labels, 'train'));
    const valFolder = join(images, 'val');
    const val = isFolder(valFolder) ? listSamples(valFolder, join(labels, 'val')) : [];
    // A train/ folder without a (non-empty) val/ folder is split like a flat dataset.
    dataset = val.length > 0 ? { root, train, val } : splitByHash(train);
  } else {
    dataset = splitByHash(listSamples(images, labels));
  }
  if (dataset.train.filter((sample) => sample.labelFile).length === 0) {
    throw new LilnetError('DETECTION_DATASET_INVALID', `${root} has no labelled training image`, {
      hint: 'images need label files of the same name under labels/ (one "class x y w h" line per lesion)',
      file: root,
    });
  }
  return dataset;
}

/** One image letterboxed to the model input, kept as 8-bit grey to hold whole datasets in memory. */
export interface LetterboxedSample {
  name: string;
  /** `inputSize * inputSize` grey values, 0 to 255. */
  pixels: Uint8Array;
  /** Lesion boxes in input pixels. */
  boxes: Box[];
  /** Lesion boxes in slice pixels, for evaluation. */
  sliceBoxes: Box[];
  sliceWidth: number;
  sliceHeight: number;
}

export async function loadLetterboxedSample(
  sample: YoloSample,
  inputSize: number,
): Promise<LetterboxedSample> {
  const slice = await readGreySlice(sample.image);
  const { input, letterbox } = letterboxSlice(slice.pixels, slice.width, slice.height, inputSize, 1);
  const pixels = new Uint8Array(input.length);
  for (let index = 0; index < input.length; index++) pixels[index] = Math.round(input[index] * 255);
  const labels = sample.labelFile ? readYoloLabelFile(sample.labelFile) : [];
  const sliceBoxes = labels.map((label) => yoloLabelToBox(label, slice.width, slice.height));
  return {
    name: sample.name,
    pixels,
    boxes: sliceBoxes.map((box) => sliceToLetterbox(box, letterbox)),
    sliceBoxes,
    sliceWidth: slice.width,
    sliceHeight: slice.height,
  };
}
