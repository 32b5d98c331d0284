/**
 * The YOLO label layout: `images/<name>.<ext>` with `labels/<name>.txt`, one line per box,
 * `class x_centre y_centre width height`, all four coordinates normalised to [0, 1] by the image size.
 * Prediction files written by Ultralytics with `save_conf` carry a sixth column, the confidence score.
 * A slice without lesions has an empty label file (or none).
 */
import { readFileSync, readdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { LilnetError } from '../errors.ts';
import type { Box } from './box.ts';

export interface YoloLabel {
  classId: number;
  centreX: number;
  centreY: number;
  width: number;
  height: number;
  /** Confidence, present in prediction files only. */
  score?: number;
}

/** Parses the text of one label file; `file` names it in errors. */
export function parseYoloLabels(text: string, file: string): YoloLabel[] {
  const labels: YoloLabel[] = [];
  const lines = text.split(/\r?\n/);
  for (let lineIndex = 0; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex].trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    const where = `${file} line ${lineIndex + 1}`;
    if (fields.length !== 5 && fields.length !== 6) {
      throw new LilnetError('DETECTION_LABEL_INVALID', `${where} has ${fields.length} fields: "${line}"`, {
        hint: 'each line must be "class x_centre y_centre width height" (plus a score in prediction files)',
        file,
      });
    }
    const values = fields.map(Number);
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new LilnetError('DETECTION_LABEL_INVALID', `${where}: "${fields[bad]}" is not a number`, {
        hint: 'label files hold numbers only, separated by spaces',
        file,
      });
    }
    const [classId, centreX, centreY, width, height, score] = values;
    if (!Number.isInteger(classId) || classId < 0) {
      throw new LilnetError(
        'DETECTION_LABEL_INVALID',
        `${where}: class "${fields[0]}" is not a non-negative integer`,
        {
          hint: 'the first column is the class index, 0 for the one class "lesion"',
          file,
        },
      );
    }
    const outside = [centreX, centreY, width, height].some((value) => value < 0 || value > 1.0001);
    if (outside || width <= 0 || height <= 0) {
      throw new LilnetError(
        'DETECTION_LABEL_INVALID',
        `${where}: box ${fields.slice(1, 5).join(' ')} is not normalised to [0, 1] with a positive size`,
        {
          hint: 'YOLO coordinates are divided by the image width and height; pixel coordinates are not accepted',
          file,
        },
      );
    }
    const label: YoloLabel = { classId, centreX, centreY, width, height };
    if (score !== undefined) label.score = score;
    labels.push(label);
  }
  return labels;
}

export function readYoloLabelFile(file: string): YoloLabel[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LilnetError('FILE_UNREADABLE', `cannot read label file ${file}`, { file, cause: error });
  }
  return parseYoloLabels(text, file);
}

/**
 * Reads every `*.txt` file of a labels folder, keyed by file stem (the image name without extension).
 * `classes.txt`, which some labelling tools write beside the labels, is skipped.
 */
export function readYoloLabelFolder(folder: string): Map<string, YoloLabel[]> {
  let names: string[];
  try {
    if (!statSync(folder).isDirectory()) {
      throw new LilnetError('INVALID_ARGUMENT', `${folder} is not a folder`, {
        hint: 'pass the labels folder of a YOLO dataset (the one holding <name>.txt files)',
        file: folder,
      });
    }
    names = readdirSync(folder);
  } catch (error) {
    if (error instanceof LilnetError) throw error;
    throw new LilnetError('FILE_NOT_FOUND', `labels folder ${folder} not found`, {
      hint: 'pass the labels folder of a YOLO dataset (the one holding <name>.txt files)',
      file: folder,
      cause: error,
    });
  }
  const labels = new Map<string, YoloLabel[]>();
  for (const name of names.sort()) {
    if (extname(name) !== '.txt' || name === 'classes.txt') continue;
    labels.set(basename(name, '.txt'), readYoloLabelFile(join(folder, name)));
  }
  return labels;
}

/** Formats labels as the text of one label file (six decimals, as Ultralytics writes). */
export function formatYoloLabels(labels: readonly YoloLabel[]): string {
  return labels
    .map((label) => {
      const fields = [label.centreX, label.centreY, label.width, label.height].map((value) =>
        value.toFixed(6),
      );
      if (label.score !== undefined) fields.push(label.score.toFixed(6));
      return `${label.classId} ${fields.join(' ')}\n`;
    })
    .join('');
}

/** Writes one label file atomically (a temporary file renamed into place). */
export function writeYoloLabelFile(file: string, labels: readonly YoloLabel[]): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, formatYoloLabels(labels));
  renameSync(temporary, file);
}

/** Converts a normalised label to a box in pixels of an image of the given size. */
export function yoloLabelToBox(label: YoloLabel, imageWidth: number, imageHeight: number): Box {
  const centreX = label.centreX * imageWidth;
  const centreY = label.centreY * imageHeight;
  const width = label.width * imageWidth;
  const height = label.height * imageHeight;
  return {
    x1: centreX - width / 2,
    y1: centreY - height / 2,
    x2: centreX + width / 2,
    y2: centreY + height / 2,
  };
}

/** Converts a box in pixels to a normalised label, clipping it to the image first. */
export function boxToYoloLabel(box: Box, imageWidth: number, imageHeight: number, classId = 0): YoloLabel {
  const x1 = Math.min(Math.max(box.x1, 0), imageWidth);
  const x2 = Math.min(Math.max(box.x2, 0), imageWidth);
  const y1 = Math.min(Math.max(box.y1, 0), imageHeight);
  const y2 = Math.min(Math.max(box.y2, 0), imageHeight);
  return {
    classId,
    centreX: (x1 + x2) / 2 / imageWidth,
    centreY: (y1 + y2) / 2 / imageHeight,
    width: (x2 - x1) / imageWidth,
    height: (y2 - y1) / imageHeight,
  };
}
