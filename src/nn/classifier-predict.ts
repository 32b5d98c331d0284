/**
 * Classifier inference on either engine, with outputs named as in the exported ONNX graphs
 * (`aggregated_logits`, `single_logits`, `self_distillation_logits`, `layer4_joint_logits`,
 * `layer3_joint_logits` for LiLNet; `logits` for ResNet).
 * - `onnx`: ONNX Runtime (onnxruntime-node) on an ONNX file, or on a checkpoint exported in memory;
 * - `torch`: the libtorch addon running the TypeScript model definition eagerly, in eval mode without autograd.
 */
import {
  exportLilnetOnnx,
  exportResnetClassifierOnnx,
  stateDictParameters,
} from '../backends/onnx/export-model.ts';
import { OnnxInferenceSession, type FloatTensor } from '../backends/onnx/session.ts';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { CheckpointModel, ClassifierModel } from './classifier-model.ts';
import { lilnetConfig, lilnetForward, lilnetSpecs } from './lilnet.ts';
import { resnetClassifierConfig, resnetClassifierForward, resnetClassifierSpecs } from './resnet50.ts';

const log = moduleLogger('nn.predict');

export type Engine = 'onnx' | 'torch';

export interface PredictOptions {
  /** CPU threads for the engine; 0 or absent lets it choose. */
  threads?: number;
  /** Images per engine call (32 by default); bounds the activation memory for long image lists. */
  batchSize?: number;
}

export const DEFAULT_PREDICT_BATCH_SIZE = 32;

type RunChunk = (chunk: FloatTensor) => Promise<Record<string, FloatTensor>>;

/** Runs `run` on consecutive chunks of at most `batchSize` images and joins the outputs along dimension 0. */
async function runInBatches(
  images: FloatTensor,
  batchSize: number,
  run: RunChunk,
): Promise<Record<string, FloatTensor>> {
  const [count, ...imageShape] = images.shape;
  const imageValues = imageShape.reduce((a, b) => a * b, 1);
  const parts: Record<string, FloatTensor>[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const data = images.data.subarray(start * imageValues, end * imageValues);
    parts.push(await run({ data, shape: [end - start, ...imageShape] }));
  }
  if (parts.length === 1) return parts[0];

  const joined: Record<string, FloatTensor> = {};
  for (const name of Object.keys(parts[0])) {
    const total = parts.reduce((sum, part) => sum + part[name].data.length, 0);
    const data = new Float32Array(total);
    let offset = 0;
    for (const part of parts) {
      data.set(part[name].data, offset);
      offset += part[name].data.length;
    }
    const rows = parts.reduce((sum, part) => sum + part[name].shape[0], 0);
    joined[name] = { data, shape: [rows, ...parts[0][name].shape.slice(1)] };
  }
  return joined;
}

/** Runs the classifier on an NCHW float32 batch; returns every output of the architecture by name. */
export async function predictClassifier(
  model: ClassifierModel,
  engine: Engine,
  images: FloatTensor,
  options: PredictOptions = {},
): Promise<Record<string, FloatTensor>> {
  const started = performance.now();
  const outputs =
    engine === 'onnx'
      ? await predictOnnx(model, images, options)
      : await predictTorch(model, images, options);
  log.info(
    { engine, images: images.shape[0], timeMs: Math.round(performance.now() - started) },
    'classifier prediction',
  );
  return outputs;
}

function exportInMemory(model: CheckpointModel, sizePx: number): Uint8Array {
  const { kind, numClasses, trunk } = model.architecture;
  const parameters = stateDictParameters(model.stateDict);
  return kind === 'lilnet'
    ? exportLilnetOnnx(lilnetConfig(numClasses, trunk), { parameters, imageSizePx: sizePx }).bytes
    : exportResnetClassifierOnnx(resnetClassifierConfig(numClasses, trunk), {
        parameters,
        imageSizePx: sizePx,
      }).bytes;
}

async function predictOnnx(
  model: ClassifierModel,
  images: FloatTensor,
  options: PredictOptions,
): Promise<Record<string, FloatTensor>> {
  const source = model.format === 'onnx' ? model.path : exportInMemory(model, images.shape[2]);
  const session = await OnnxInferenceSession.create(source, { intraOpThreads: options.threads ?? 0 });
  try {
    const inputName = session.inputNames[0];
    const batchSize = options.batchSize ?? DEFAULT_PREDICT_BATCH_SIZE;
    return await runInBatches(images, batchSize, (chunk) => session.run({ [inputName]: chunk }));
  } finally {
    await session.release();
  }
}

async function predictTorch(
  model: ClassifierModel,
  images: FloatTensor,
  options: PredictOptions,
): Promise<Record<string, FloatTensor>> {
  if (model.format === 'onnx') {
    throw new LilnetError('INVALID_ARGUMENT', `the torch engine cannot run the ONNX file ${model.path}`, {
      file: model.path,
      hint: 'use --engine onnx for .onnx files, or pass a checkpoint to --model',
    });
  }
  // Loaded on demand, so that the ONNX engine works where the libtorch addon is not built.
  const torch = await import('../backends/torch/index.ts');
  if (!torch.isTorchAvailable()) {
    throw new LilnetError('TORCH_ADDON_MISSING', 'the libtorch addon is not available for --engine torch', {
      hint: 'build it with npm install (needs libtorch-dev, or LIBTORCH set), or use --engine onnx',
    });
  }
  if (options.threads) torch.setNumThreads(options.threads);

  const { kind, numClasses, trunk } = model.architecture;
  const specs =
    kind === 'lilnet'
      ? lilnetSpecs(lilnetConfig(numClasses, trunk))
      : resnetClassifierSpecs(resnetClassifierConfig(numClasses, trunk));
  const { store } = torch.ParameterStore.fromStateDict(specs, model.stateDict, { strict: true });
  const runChunk = async (chunk: FloatTensor): Promise<Record<string, FloatTensor>> =>
    torch.noGrad(() =>
      torch.scope((): Record<string, FloatTensor> => {
        const ops = new torch.TorchOps();
        const input = torch.tensor(chunk.data, chunk.shape);
        const read = (t: InstanceType<typeof torch.TorchTensor>): FloatTensor => ({
          data: t.toFloat32Array(),
          shape: [...t.shape],
        });
        if (kind === 'resnet') {
          const config = resnetClassifierConfig(numClasses, trunk);
          return {
            logits: read(resnetClassifierForward(ops, store.lookup, config, input, { training: false })),
          };
        }
        const out = lilnetForward(ops, store.lookup, lilnetConfig(numClasses, trunk), input, {
          training: false,
        });
        return {
          aggregated_logits: read(out.aggregated),
          single_logits: read(out.single),
          self_distillation_logits: read(out.selfDistillation),
          layer4_joint_logits: read(out.layer4Joint),
          layer3_joint_logits: read(out.layer3Joint),
        };
      }),
    );
  try {
    return await runInBatches(images, options.batchSize ?? DEFAULT_PREDICT_BATCH_SIZE, runChunk);
  } finally {
    store.dispose();
  }
}
