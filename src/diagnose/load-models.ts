/**
 * Loading of the four diagnosis models from the resolved model files: ONNX files open directly, PyTorch
 * checkpoints are converted to ONNX once and cached (model-conversion.ts).
 */
import { basename } from 'node:path';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { convertCheckpointToOnnx } from './model-conversion.ts';
import { BUNDLED_MODELS_DIR, modelVersion, resolveModelFiles, type ModelFile } from './models-folder.ts';
import { openDetector, type DetectorSession } from '../detect/detector-session.ts';
import { OnnxClassifier, openSession } from './onnx-models.ts';
import type { ClassifierRole } from './classify-stage.ts';
import type { ModelInfo, ReportWarning } from './report-types.ts';

const log = moduleLogger('diagnose.models');

export interface LoadedModels {
  detector: DetectorSession;
  classifiers: Partial<Record<ClassifierRole, OnnxClassifier>>;
  infos: ModelInfo[];
  warnings: ReportWarning[];
}

/** Returns the ONNX file of a classifier slot, converting a checkpoint and reading its architecture. */
async function onnxPathOf(file: ModelFile): Promise<string> {
  if (file.format === 'onnx') return file.path;
  const converted = await convertCheckpointToOnnx(
    file.path,
    file.role as ClassifierRole,
    file.classes.length,
  );
  if (!file.architectureFromManifest) file.architecture = converted.architecture;
  return converted.onnxPath;
}

async function infoOf(file: ModelFile): Promise<ModelInfo> {
  const info: ModelInfo = {
    role: file.role,
    file: basename(file.path),
    format: file.format,
    architecture: file.architecture,
    version: await modelVersion(file.path),
    classes: file.classes,
    demo: file.demo,
  };
  if (file.trainedOn) info.trainedOn = file.trainedOn;
  return info;
}

export type LoadedClassifiers = Omit<LoadedModels, 'detector'>;

function missingModel(role: 'detector' | 'benign-malignant', modelsDir: string | undefined): LilnetError {
  const where = modelsDir
    ? `${modelsDir} or the bundled ${BUNDLED_MODELS_DIR}`
    : `the bundled ${BUNDLED_MODELS_DIR}`;
  return new LilnetError('MODELS_NOT_FOUND', `no ${role} model found in ${where}`, {
    file: modelsDir,
    hint:
      role === 'detector'
        ? 'add detector.onnx (a YOLOv8-convention ONNX detector) to the models folder'
        : "add benign-malignant.onnx or the authors' Time_BM.pth.tar to the models folder",
  });
}

/** Resolves and opens the three classifiers only; the benign/malignant one is required. */
export async function loadClassifiers(modelsDir?: string): Promise<LoadedClassifiers> {
  const files = resolveModelFiles(modelsDir);
  if (!files['benign-malignant']) throw missingModel('benign-malignant', modelsDir);
  const warnings: ReportWarning[] = [];
  const infos: ModelInfo[] = [];
  const classifiers: Partial<Record<ClassifierRole, OnnxClassifier>> = {};
  for (const role of ['benign-malignant', 'malignant-subtype', 'benign-subtype'] as const) {
    const file = files[role];
    if (!file) {
      warnings.push({
        code: 'model-missing',
        message: `no ${role} model was found, so the ${role === 'malignant-subtype' ? 'HCC/ICC/MET' : 'FNH/HEM/CYST'} probabilities are not reported`,
      });
      continue;
    }
    const session = await openSession(await onnxPathOf(file));
    classifiers[role] = new OnnxClassifier(session, file.classes.length, basename(file.path));
    if (!classifiers[role].hasCam) {
      warnings.push({
        code: 'no-heatmap',
        message: `the ${role} model ${basename(file.path)} has no "cam" output, so its heatmaps are not drawn`,
      });
    }
    infos.push(await infoOf(file));
  }
  return { classifiers, infos, warnings };
}

/** Resolves and opens every model; the user's folder first, the bundled demo models for the slots it leaves empty. */
export async function loadModels(modelsDir?: string): Promise<LoadedModels> {
  const files = resolveModelFiles(modelsDir);
  // Both required slots are checked before any model is opened, so a bad folder fails fast.
  if (!files.detector) throw missingModel('detector', modelsDir);
  if (!files['benign-malignant']) throw missingModel('benign-malignant', modelsDir);
  const detector = await openDetector(files.detector.path);
  const detectorInfo = await infoOf(files.detector);
  const { classifiers, infos, warnings } = await loadClassifiers(modelsDir);
  const allInfos = [detectorInfo, ...infos];
  log.info({ models: allInfos.map((i) => `${i.role}:${i.file}:${i.version}`) }, 'models loaded');
  return { detector, classifiers, infos: allInfos, warnings };
}
