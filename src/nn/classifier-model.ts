/**
 * Opens a classifier model file for prediction or export: an ONNX file, a PyTorch checkpoint (the authors'
 * `.pth.tar`, or any torchvision-named state dict of LiLNet or a plain ResNet), or lilnet's own training
 * checkpoint. PyTorch checkpoints yield the architecture read from the state dict's names and shapes; training
 * checkpoints store it.
 */
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { readOnnxMetadataProps } from '../backends/onnx/onnx-metadata.ts';
import { inferArchitecture, type ClassifierArchitecture } from '../diagnose/model-conversion.ts';
import { LilnetError } from '../errors.ts';
import { resolveTask, type TaskName } from '../eval/tasks.ts';
import { moduleLogger } from '../log.ts';
import { compareStateDict, describeStateDictComparison } from './checkpoint/compare-state-dict.ts';
import { isTrainingCheckpointBytes, readTrainingCheckpoint } from './checkpoint/lilnet-checkpoint.ts';
import { readPytorchCheckpoint, type StateDictTensor } from './checkpoint/pytorch-reader.ts';
import { lilnetConfig, lilnetSpecs } from './lilnet.ts';
import { resnetClassifierConfig, resnetClassifierSpecs } from './resnet50.ts';

const log = moduleLogger('nn.classifier-model');

export type { ClassifierArchitecture } from '../diagnose/model-conversion.ts';

/** A checkpoint opened for inference: its weights and the architecture they belong to. */
export interface CheckpointModel {
  format: 'pytorch-checkpoint' | 'lilnet-checkpoint';
  path: string;
  stateDict: Map<string, StateDictTensor>;
  architecture: ClassifierArchitecture;
  /** Training metadata: epoch, auc, acc, ... (PyTorch) or epoch and metrics (lilnet). */
  meta: Record<string, unknown>;
}

/** An ONNX file; `recordedClasses` are the labels `lilnet export-onnx` stored in its `lilnet.classes` metadata. */
export interface OnnxModel {
  format: 'onnx';
  path: string;
  recordedClasses?: string[];
}

export type ClassifierModel = OnnxModel | CheckpointModel;

async function firstBytes(path: string, count: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    throw new LilnetError(code, `cannot open model ${path}: ${(error as Error).message}`, {
      file: path,
      hint: 'check the --model path',
      cause: error,
    });
  }
  try {
    const buffer = new Uint8Array(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Opens `path` by content: the `LILNETCK` magic marks lilnet's training checkpoint, a zip archive a PyTorch
 * checkpoint, and a `.onnx` file an ONNX model.
 */
export async function openClassifierModel(path: string): Promise<ClassifierModel> {
  const head = await firstBytes(path, 8);
  if (isTrainingCheckpointBytes(head)) {
    const checkpoint = await readTrainingCheckpoint(path);
    const { architecture, numClasses, trunk } = checkpoint.model;
    return {
      format: 'lilnet-checkpoint',
      path,
      stateDict: checkpoint.stateDict,
      architecture: { kind: architecture, numClasses, trunk },
      meta: { epoch: checkpoint.epoch, metrics: checkpoint.metrics },
    };
  }
  const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  if (!isZip && extname(path).toLowerCase() === '.onnx') {
    const recorded = (await readOnnxMetadataProps(path))['lilnet.classes'];
    return { format: 'onnx', path, ...(recorded ? { recordedClasses: recorded.split(',') } : {}) };
  }
  // Anything else goes to the PyTorch reader, whose errors name legacy, gzip and other formats.
  const checkpoint = await readPytorchCheckpoint(path);
  const architecture = inferArchitecture(checkpoint.stateDict, path);
  checkStateDictFits(checkpoint.stateDict, architecture, path);
  return {
    format: 'pytorch-checkpoint',
    path,
    stateDict: checkpoint.stateDict,
    architecture,
    meta: checkpoint.meta,
  };
}

/**
 * Compares the state dict with the specs of the architecture inferred from it. Missing or mis-shaped keys are a
 * `CHECKPOINT_MISMATCH`; unexpected keys are logged and ignored, as the authors load their files non-strictly.
 */
function checkStateDictFits(
  stateDict: ReadonlyMap<string, StateDictTensor>,
  architecture: ClassifierArchitecture,
  path: string,
): void {
  const { kind, numClasses, trunk } = architecture;
  const specs =
    kind === 'lilnet'
      ? lilnetSpecs(lilnetConfig(numClasses, trunk))
      : resnetClassifierSpecs(resnetClassifierConfig(numClasses, trunk));
  const comparison = compareStateDict(stateDict, specs);
  if (comparison.missing.length > 0 || comparison.misshaped.length > 0) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      `${path} does not fit a ${kind} with ${numClasses} classes:\n${describeStateDictComparison(comparison)}`,
      { file: path, hint: 'use a complete LiLNet or torchvision ResNet classifier checkpoint' },
    );
  }
  if (comparison.unexpected.length > 0) {
    log.warn(
      { file: basename(path), unexpected: comparison.unexpected.slice(0, 20) },
      'checkpoint keys the model does not use',
    );
  }
}

/**
 * Returns the class labels of a task, checked against the number of classes the model outputs and against
 * the labels the model file records (`recordedClasses`). Without a task, recorded labels are used when their
 * count fits.
 */
export function taskClasses(
  task: TaskName | undefined,
  numClasses: number,
  source: string,
  recordedClasses?: readonly string[],
): string[] {
  const recorded = recordedClasses?.length === numClasses ? [...recordedClasses] : undefined;
  if (task === undefined && recorded) return recorded;
  // resolveTask validates the task name; its class count is 2 for bm and 3 for the subtype tasks.
  let taskClassCount = numClasses;
  if (task === 'bm') taskClassCount = 2;
  else if (task !== undefined) taskClassCount = 3;
  const definition = resolveTask(task, taskClassCount, source);
  if (definition.classes.length !== numClasses) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      `${source} has ${numClasses} classes but task ${task} has ${definition.classes.length} (${definition.classes.join(', ')})`,
      {
        file: source,
        hint: 'bm is benign/malignant (2 classes); benign is FNH/HEM/CYST and malignant HCC/ICC/MET (3 classes)',
      },
    );
  }
  if (recorded && recorded.join(',') !== definition.classes.join(',')) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      `${source} records classes ${recorded.join(', ')}, but task ${task} labels them ${definition.classes.join(', ')}`,
      {
        file: source,
        hint: 'drop --task to use the classes recorded in the model, or pass the task it was exported for',
      },
    );
  }
  return definition.classes;
}
