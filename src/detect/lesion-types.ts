/**
 * The per-box lesion-type manifest that evaluation reads to report metrics per lesion type. Two layouts are
 * accepted:
 * - JSON: an object mapping each image stem to the types of its label-file boxes in line order,
 *   `{"slice-0001": ["HCC", "CYST"]}`, or an array of `{"image", "box", "type"}` records;
 * - CSV with a header naming the columns `image`, `box` (0-based line index in the label file) and `type`.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LilnetError } from '../errors.ts';
import { imageKey } from './detections-file.ts';

/** Lesion type per image stem, one entry per label-file box in line order (undefined where not given). */
export type LesionTypeManifest = Map<string, (string | undefined)[]>;

function invalid(file: string, what: string): LilnetError {
  return new LilnetError('DETECTIONS_FILE_INVALID', `lesion-type manifest ${file}: ${what}`, {
    hint: 'use JSON {"<image>": ["<type>", ...]} or a CSV with columns image, box, type',
    file,
  });
}

function setType(manifest: LesionTypeManifest, image: string, box: number, type: string, file: string): void {
  if (!Number.isInteger(box) || box < 0)
    throw invalid(file, `box index "${box}" of image ${image} is not a non-negative integer`);
  const key = imageKey(image);
  const types = manifest.get(key) ?? [];
  types[box] = type;
  manifest.set(key, types);
}

export function parseLesionTypeManifest(text: string, file: string): LesionTypeManifest {
  const manifest: LesionTypeManifest = new Map();
  if (extname(file).toLowerCase() === '.json') {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw invalid(file, `not valid JSON (${(error as Error).message})`);
    }
    if (Array.isArray(document)) {
      document.forEach((record, index) => {
        const { image, box, type } = (record ?? {}) as { image?: unknown; box?: unknown; type?: unknown };
        if (typeof image !== 'string' || typeof type !== 'string')
          throw invalid(file, `record ${index} needs string "image" and "type"`);
        setType(manifest, image, Number(box), type, file);
      });
    } else if (document && typeof document === 'object') {
      for (const [image, types] of Object.entries(document)) {
        if (!Array.isArray(types) || !types.every((type) => typeof type === 'string')) {
          throw invalid(file, `the entry of ${image} is not an array of type names`);
        }
        types.forEach((type: string, box: number) => setType(manifest, image, box, type, file));
      }
    } else {
      throw invalid(file, 'is neither an object nor an array');
    }
    return manifest;
  }

  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) throw invalid(file, 'is empty');
  const header = lines[0].split(',').map((name) => name.trim().toLowerCase());
  const imageColumn = header.indexOf('image');
  const boxColumn = header.indexOf('box');
  const typeColumn = header.indexOf('type');
  if (imageColumn < 0 || boxColumn < 0 || typeColumn < 0)
    throw invalid(file, `header "${lines[0]}" lacks image, box or type`);
  for (let lineIndex = 1; lineIndex < lines.length; lineIndex++) {
    const fields = lines[lineIndex].split(',').map((field) => field.trim());
    if (fields.length !== header.length)
      throw invalid(file, `line ${lineIndex + 1} has ${fields.length} fields, the header ${header.length}`);
    setType(manifest, fields[imageColumn], Number(fields[boxColumn]), fields[typeColumn], file);
  }
  return manifest;
}

export function readLesionTypeManifest(file: string): LesionTypeManifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LilnetError('FILE_NOT_FOUND', `lesion-type manifest ${file} not found`, { file, cause: error });
  }
  return parseLesionTypeManifest(text, file);
}
