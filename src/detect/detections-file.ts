/**
 * The detections document that `lilnet detect --json` prints, and readers of predictions for evaluation: that
 * document, or a folder of YOLO prediction files (`class x y w h score`, normalised, as Ultralytics writes with
 * `save_txt` and `save_conf`).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { LilnetError } from '../errors.ts';
import type { PredictedBox } from './evaluate.ts';
import { readYoloLabelFolder, yoloLabelToBox } from './yolo-labels.ts';

export interface DetectionsDocument {
  model: { path: string; inputSize: number; confidenceThreshold: number; nmsIouThreshold: number };
  slices: SliceDetectionsEntry[];
}

export interface SliceDetectionsEntry {
  file: string;
  /** Slice size in pixels, so that boxes can be normalised. */
  width: number;
  height: number;
  /** Boxes in slice pixels, highest score first. */
  boxes: { x1: number; y1: number; x2: number; y2: number; score: number }[];
}

/** Image stem used to pair predictions with label files: the file name without folder and extension. */
export function imageKey(file: string): string {
  return basename(file, extname(file));
}

function invalid(file: string, what: string): LilnetError {
  return new LilnetError('DETECTIONS_FILE_INVALID', `${file}: ${what}`, {
    hint: 'pass the JSON document of `lilnet detect --json` or a folder of YOLO prediction .txt files',
    file,
  });
}

/** Parses a detections document, checking the fields evaluation needs. */
export function parseDetectionsDocument(text: string, file: string): DetectionsDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `not valid JSON (${(error as Error).message})`);
  }
  const slices = (document as { slices?: unknown })?.slices;
  if (!Array.isArray(slices)) throw invalid(file, 'has no "slices" array');
  slices.forEach((slice: unknown, index: number) => {
    const entry = slice as Partial<SliceDetectionsEntry>;
    if (typeof entry?.file !== 'string') throw invalid(file, `slices[${index}] has no "file" string`);
    if (!(Number(entry.width) > 0 && Number(entry.height) > 0))
      throw invalid(file, `slices[${index}] has no positive "width" and "height"`);
    if (!Array.isArray(entry.boxes)) throw invalid(file, `slices[${index}] has no "boxes" array`);
    entry.boxes.forEach((box, boxIndex) => {
      const values = [box?.x1, box?.y1, box?.x2, box?.y2, box?.score];
      if (!values.every((value) => typeof value === 'number' && Number.isFinite(value))) {
        throw invalid(file, `slices[${index}].boxes[${boxIndex}] needs numeric x1, y1, x2, y2 and score`);
      }
    });
  });
  return document as DetectionsDocument;
}

/**
 * Reads predictions keyed by image stem, with boxes normalised to [0, 1] of the image size (so that they compare
 * with YOLO labels whatever the slice size).
 */
export function readPredictions(path: string): Map<string, PredictedBox[]> {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    throw new LilnetError('FILE_NOT_FOUND', `predictions ${path} not found`, {
      hint: 'pass the JSON file written by `lilnet detect --json` or a folder of YOLO prediction files',
      file: path,
      cause: error,
    });
  }
  const predictions = new Map<string, PredictedBox[]>();
  if (isFolder) {
    for (const [key, labels] of readYoloLabelFolder(path)) {
      predictions.set(
        key,
        labels.map((label) => {
          if (label.score === undefined) {
            throw new LilnetError(
              'DETECTION_LABEL_INVALID',
              `prediction file ${key}.txt has a line without a score`,
              {
                hint: 'prediction files need a sixth column, the confidence (Ultralytics save_conf=True)',
                file: path,
              },
            );
          }
          return { ...yoloLabelToBox(label, 1, 1), score: label.score };
        }),
      );
    }
    return predictions;
  }
  const document = parseDetectionsDocument(readFileSync(path, 'utf8'), path);
  for (const slice of document.slices) {
    const key = imageKey(slice.file);
    if (predictions.has(key)) throw invalid(path, `two slices share the image name "${key}"`);
    predictions.set(
      key,
      slice.boxes.map((box) => ({
        x1: box.x1 / slice.width,
        y1: box.y1 / slice.height,
        x2: box.x2 / slice.width,
        y2: box.y2 / slice.height,
        score: box.score,
      })),
    );
  }
  return predictions;
}
