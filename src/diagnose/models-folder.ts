/**
 * Finding the four models of a diagnosis in a models folder.
 *
 * A folder may carry a `models.json` manifest that names the file of each slot (see docs/diagnosis.md); without
 * one, files are recognised by name:
 *
 * | slot | base names (case-insensitive, any extension below) |
 * | --- | --- |
 * | detector | `detector`, `best` (the Ultralytics name), `yolo*` |
 * | benign-malignant | `benign-malignant*`, `bm*`, `Time_BM` (the authors' release) |
 * | malignant-subtype | `malignant*`, `hcc*`, `Time_M` |
 * | benign-subtype | `benign*` (but not `benign-malignant*`), `fnh*`, `Time_B` |
 *
 * Extensions: `.onnx`, `.ckpt` (a `lilnet train` or `lilnet train-detector` checkpoint) and, for classifiers,
 * the PyTorch checkpoints `.pth.tar`, `.pth`, `.pt`. Classifier checkpoints are converted to ONNX on first use
 * (model-conversion.ts). Slots the user folder leaves empty fall back to the bundled demo models.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LilnetError } from '../errors.ts';
import { MODEL_ROLES, type ModelInfo, type ModelRole } from './report-types.ts';

/** The bundled demo models, committed with the repository. */
export const BUNDLED_MODELS_DIR = resolve(fileURLToPath(new URL('../../models', import.meta.url)));

export type ModelFileFormat = ModelInfo['format'];

/** One slot filled from a folder, before the model is loaded. */
export interface ModelFile {
  role: ModelRole;
  path: string;
  format: ModelFileFormat;
  architecture: string;
  /** True when `architecture` comes from models.json rather than a default. */
  architectureFromManifest: boolean;
  classes: string[];
  demo: boolean;
  trainedOn?: string;
  /** Detector input side in pixels, when the manifest states it. */
  inputSizePx?: number;
}

/** The `models.json` manifest of a models folder. */
export interface ModelsManifest {
  /** True for demo models trained on synthetic data; reports made with them carry a warning. */
  demo?: boolean;
  trainedOn?: string;
  models: Partial<
    Record<ModelRole, { file: string; architecture?: string; inputSizePx?: number; classes?: string[] }>
  >;
}

export const DEFAULT_CLASSES: Record<ModelRole, string[]> = {
  detector: ['lesion'],
  'benign-malignant': ['benign', 'malignant'],
  'malignant-subtype': ['HCC', 'ICC', 'MET'],
  'benign-subtype': ['FNH', 'HEM', 'CYST'],
};

const CHECKPOINT_SUFFIXES = ['.pth.tar', '.pth', '.pt'];
const DETECTOR_CHECKPOINT_SUFFIX = '.ckpt';

/** Returns the format of a model file from its name, or null when lilnet does not read it. */
export function modelFormatOf(path: string): ModelFileFormat | null {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return 'onnx';
  if (CHECKPOINT_SUFFIXES.some((suffix) => lower.endsWith(suffix))) return 'pytorch-checkpoint';
  if (lower.endsWith(DETECTOR_CHECKPOINT_SUFFIX)) return 'lilnet-checkpoint';
  return null;
}

function stem(path: string): string {
  const name = basename(path).toLowerCase();
  for (const suffix of ['.onnx', ...CHECKPOINT_SUFFIXES, DETECTOR_CHECKPOINT_SUFFIX])
    if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return name;
}

/** Returns the slot a file name belongs to, or null. */
export function roleOfFileName(path: string): ModelRole | null {
  const name = stem(path);
  if (/^(detector|best$|yolo)/.test(name)) return 'detector';
  if (/^(benign[-_]?malignant|bm|time_bm$)/.test(name)) return 'benign-malignant';
  if (/^(malignant|hcc|time_m$)/.test(name)) return 'malignant-subtype';
  if (/^(benign|fnh|time_b$)/.test(name)) return 'benign-subtype';
  return null;
}

function readManifest(dir: string): ModelsManifest | null {
  const path = join(dir, 'models.json');
  if (!existsSync(path)) return null;
  let manifest: ModelsManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as ModelsManifest;
  } catch (error) {
    throw new LilnetError(
      'MODELS_INVALID',
      `models manifest ${path} is not valid JSON: ${(error as Error).message}`,
      {
        file: path,
        hint: 'fix the JSON or delete models.json to let lilnet find the models by file name',
        cause: error,
      },
    );
  }
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.models !== 'object') {
    throw new LilnetError('MODELS_INVALID', `models manifest ${path} has no "models" object`, {
      file: path,
      hint: 'see docs/diagnosis.md for the manifest layout',
    });
  }
  return manifest;
}

/**
 * Lists the model files of one folder by slot. `demoDefault` is the demo flag of files the manifest does not
 * mark; the bundled folder's manifest marks its models as demo models.
 */
export function scanModelsFolder(dir: string): Partial<Record<ModelRole, ModelFile>> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new LilnetError('MODELS_INVALID', `--models ${dir} is a file, but it must be a folder of models`, {
      file: dir,
      hint: 'put the file in a folder, named for its slot (detector, benign-malignant, malignant-subtype or benign-subtype, keeping its extension), and pass that folder',
    });
  }
  if (!existsSync(dir)) {
    throw new LilnetError('FILE_NOT_FOUND', `models folder ${dir} not found`, {
      file: dir,
      hint: 'pass --models a folder with detector and classifier files (.onnx or .pth.tar)',
    });
  }
  const found: Partial<Record<ModelRole, ModelFile>> = {};
  const manifest = readManifest(dir);
  const demo = manifest?.demo ?? false;

  if (manifest) {
    for (const role of MODEL_ROLES) {
      const entry = manifest.models[role];
      if (!entry) continue;
      const path = join(dir, entry.file);
      const format = modelFormatOf(path);
      const formatFits = format !== null && !(role === 'detector' && format === 'pytorch-checkpoint');
      if (!existsSync(path) || !format || !formatFits) {
        throw new LilnetError(
          'MODELS_INVALID',
          `models.json names ${entry.file} for the ${role} slot, but ${existsSync(path) ? 'its format does not fit the slot (.onnx or .ckpt for the detector, .onnx, .ckpt or .pth.tar for classifiers)' : 'the file is missing'}`,
          {
            file: path,
            hint: 'fix the file name in models.json or add the file',
          },
        );
      }
      found[role] = {
        role,
        path,
        format,
        architecture: entry.architecture ?? defaultArchitecture(role),
        architectureFromManifest: entry.architecture !== undefined,
        classes: entry.classes ?? DEFAULT_CLASSES[role],
        demo,
        trainedOn: manifest.trainedOn,
        inputSizePx: entry.inputSizePx,
      };
    }
  }

  // Slots the manifest leaves out (or all, without one) are filled by file name.
  const byName: Partial<Record<ModelRole, ModelFile>> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const format = modelFormatOf(path);
    const role = roleOfFileName(path);
    if (!format || !role || !statSync(path).isFile()) continue;
    // A detector is an ONNX file or a lilnet detector checkpoint, never a PyTorch one.
    if (role === 'detector' && format === 'pytorch-checkpoint') continue;
    if (found[role]) continue;
    const existing = byName[role];
    if (existing) {
      throw new LilnetError(
        'MODELS_INVALID',
        `models folder ${dir} has two files for the ${role} slot: ${basename(existing.path)} and ${name}`,
        {
          file: dir,
          hint: 'remove one of them, or write a models.json that names the file of each slot',
        },
      );
    }
    byName[role] = {
      role,
      path,
      format,
      architecture: defaultArchitecture(role),
      architectureFromManifest: false,
      classes: DEFAULT_CLASSES[role],
      demo,
    };
  }
  return { ...byName, ...found };
}

function defaultArchitecture(role: ModelRole): string {
  // Checkpoints replace this with the architecture read from their weights (load-models.ts).
  return role === 'detector' ? 'YOLOv8 output convention' : 'not stated (no models.json)';
}

function noModelsRecognised(dir: string): LilnetError {
  const names = readdirSync(dir).sort();
  const contents =
    names.length === 0
      ? 'it is empty'
      : `it holds ${names.slice(0, 8).join(', ')}${names.length > 8 ? ` and ${names.length - 8} more` : ''}`;
  return new LilnetError(
    'MODELS_NOT_FOUND',
    `models folder ${dir} has no file lilnet recognises as a model (${contents})`,
    {
      file: dir,
      hint:
        'name the files detector.onnx, benign-malignant.onnx, malignant-subtype.onnx and benign-subtype.onnx ' +
        '(.onnx, .ckpt or .pth.tar), or write a models.json that names them; leave out --models to use the bundled demo models',
    },
  );
}

/** Fills each slot from the user's folder first, then from the bundled demo models. */
export function resolveModelFiles(
  userDir?: string,
  bundledDir = BUNDLED_MODELS_DIR,
): Partial<Record<ModelRole, ModelFile>> {
  const user = userDir ? scanModelsFolder(userDir) : {};
  // A --models folder that fills no slot is a wrong path or misnamed files; falling back to the bundled demo
  // models for every slot would hide that.
  if (userDir && Object.keys(user).length === 0) throw noModelsRecognised(userDir);
  const bundled = existsSync(bundledDir) ? scanModelsFolder(bundledDir) : {};
  const resolved: Partial<Record<ModelRole, ModelFile>> = {};
  for (const role of MODEL_ROLES) {
    const file = user[role] ?? bundled[role];
    if (file) resolved[role] = file;
  }
  return resolved;
}

/** First 16 hex digits of the SHA-256 of a file, streamed so that large checkpoints do not fill memory. */
export async function modelVersion(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}
