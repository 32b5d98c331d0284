/**
 * `lilnet predict`: classifier logits for lesion crops (image files, preprocessed as the authors' evaluation
 * transform) or for a raw NCHW float32 tensor, from an ONNX file or a checkpoint, on ONNX Runtime or libtorch.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { FloatTensor } from '../../backends/onnx/session.ts';
import { LilnetError } from '../../errors.ts';
import { isTaskName, TASK_NAMES, type TaskName } from '../../eval/tasks.ts';
import { moduleLogger } from '../../log.ts';
import { openClassifierModel, taskClasses } from '../../nn/classifier-model.ts';
import { DEFAULT_PREDICT_BATCH_SIZE, predictClassifier, type Engine } from '../../nn/classifier-predict.ts';
import { imagesToBatch, MODEL_INPUT_SIZE_PX } from '../../nn/preprocess.ts';

const log = moduleLogger('cli.predict');

const SUMMARY_OUTPUTS = ['aggregated_logits', 'single_logits', 'self_distillation_logits'];
const JOINT_OUTPUTS = ['layer4_joint_logits', 'layer3_joint_logits'];

interface PredictCommandOptions {
  model: string;
  task?: string;
  engine: string;
  inputTensor?: string;
  shape?: string;
  json?: boolean;
  joint?: boolean;
  threads: string;
  batchSize: string;
}

function parseShape(text: string | undefined): number[] {
  const shape = (text ?? '').split(',').map((part) => Number(part.trim()));
  if (
    shape.length !== 4 ||
    shape.some((d) => !Number.isInteger(d) || d < 1) ||
    shape[1] !== 3 ||
    shape[2] !== shape[3]
  ) {
    throw new LilnetError('INVALID_ARGUMENT', `--shape ${text ?? '(missing)'} is not N,3,S,S`, {
      hint: `give the tensor shape as N,3,${MODEL_INPUT_SIZE_PX},${MODEL_INPUT_SIZE_PX} (N images, NCHW)`,
    });
  }
  return shape;
}

async function readInputTensor(path: string, shapeText: string | undefined): Promise<FloatTensor> {
  const shape = parseShape(shapeText);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new LilnetError(
      'FILE_NOT_FOUND',
      `cannot read --input-tensor ${path}: ${(error as Error).message}`,
      {
        file: path,
        hint: 'check the path',
        cause: error,
      },
    );
  }
  const expectedBytes = shape.reduce((a, b) => a * b, 1) * 4;
  if (bytes.byteLength !== expectedBytes) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${path} has ${bytes.byteLength} bytes, but shape ${shape.join(',')} of float32 needs ${expectedBytes}`,
      {
        file: path,
        hint: 'the file must be raw little-endian float32 values in NCHW order, matching --shape',
      },
    );
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  // A NaN input gives NaN logits, and argmax over NaN would report class 0 (benign) as the prediction.
  let nonFiniteCount = 0;
  let firstNonFinite = -1;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    nonFiniteCount++;
    if (firstNonFinite < 0) firstNonFinite = i;
  }
  if (nonFiniteCount > 0) {
    const perImage = data.length / shape[0];
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${path} contains ${nonFiniteCount} NaN or infinite value(s), the first in image ${Math.floor(firstNonFinite / perImage)} at index ${firstNonFinite}`,
      { file: path, hint: 'check the program that wrote the tensor: normalised crops lie in [-1, 1]' },
    );
  }
  return { data, shape };
}

function rows(tensor: FloatTensor): number[][] {
  const width = tensor.shape[tensor.shape.length - 1];
  return Array.from({ length: tensor.data.length / width }, (_, r) =>
    Array.from(tensor.data.subarray(r * width, (r + 1) * width)),
  );
}

function argmax(row: number[]): number {
  return row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
}

function softmax(row: number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / total);
}

function parseOptions(
  options: PredictCommandOptions,
  images: string[],
): { engine: Engine; task?: TaskName; threads: number; batchSize: number } {
  if (options.engine !== 'onnx' && options.engine !== 'torch') {
    throw new LilnetError('INVALID_ARGUMENT', `--engine ${options.engine} is not onnx or torch`, {
      hint: 'use --engine onnx or --engine torch',
    });
  }
  if (options.task !== undefined && !isTaskName(options.task)) {
    throw new LilnetError('INVALID_ARGUMENT', `--task ${options.task} is unknown`, {
      hint: `use one of ${TASK_NAMES.join(', ')}`,
    });
  }
  if ((options.inputTensor === undefined) === (images.length === 0)) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      'predict needs either --input-tensor with --shape or image files, not both or neither',
      {
        hint: 'e.g. lilnet predict --model Time_BM.pth.tar crop-01.png crop-02.png',
      },
    );
  }
  const threads = Number(options.threads);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new LilnetError('INVALID_ARGUMENT', `--threads ${options.threads} is not a non-negative integer`, {
      hint: 'use 0 to let the engine choose',
    });
  }
  const batchSize = Number(options.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new LilnetError('INVALID_ARGUMENT', `--batch-size ${options.batchSize} is not a positive integer`, {
      hint: `use the default ${DEFAULT_PREDICT_BATCH_SIZE}, or less to save memory`,
    });
  }
  return { engine: options.engine, task: options.task as TaskName | undefined, threads, batchSize };
}

async function runPredict(images: string[], options: PredictCommandOptions): Promise<void> {
  const { engine, task, threads, batchSize } = parseOptions(options, images);
  // Inputs first: they are cheaper to check than a 100 MB checkpoint is to read.
  const input = options.inputTensor
    ? await readInputTensor(options.inputTensor, options.shape)
    : {
        data: await imagesToBatch(images),
        shape: [images.length, 3, MODEL_INPUT_SIZE_PX, MODEL_INPUT_SIZE_PX],
      };
  const model = await openClassifierModel(options.model);
  const inputNames = options.inputTensor
    ? Array.from({ length: input.shape[0] }, (_, i) => `${basename(options.inputTensor!)}[${i}]`)
    : images.map((path) => basename(path));
  log.info(
    { model: basename(options.model), format: model.format, engine, images: input.shape[0] },
    'predicting',
  );

  const outputs = await predictClassifier(model, engine, input, { threads, batchSize });
  const isLilnet = 'aggregated_logits' in outputs;
  const wanted = isLilnet ? [...SUMMARY_OUTPUTS, ...(options.joint ? JOINT_OUTPUTS : [])] : ['logits'];
  for (const name of wanted) {
    if (!outputs[name]) {
      throw new LilnetError('MODEL_OUTPUT_INVALID', `model ${options.model} has no output ${name}`, {
        file: options.model,
        hint: 'export the model with lilnet export-onnx, which writes every LiLNet output',
      });
    }
  }
  if (options.joint && !isLilnet) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      '--joint needs a LiLNet model; this is a plain ResNet classifier',
      {
        hint: 'drop --joint for ResNet models',
      },
    );
  }

  const decision = rows(outputs[isLilnet ? 'aggregated_logits' : 'logits']);
  const invalidRow = decision.findIndex((row) => !row.every(Number.isFinite));
  if (invalidRow >= 0) {
    throw new LilnetError(
      'MODEL_OUTPUT_INVALID',
      `model ${options.model} gave NaN or infinite logits for input ${inputNames[invalidRow]}, so no class can be predicted`,
      { file: options.model, hint: 'check the model weights and that the input is a normalised crop' },
    );
  }
  const recordedClasses = model.format === 'onnx' ? model.recordedClasses : undefined;
  const classes = taskClasses(task, decision[0]?.length ?? 0, options.model, recordedClasses);
  const predicted = decision.map((row) => classes[argmax(row)]);

  if (options.json) {
    const document: Record<string, unknown> = {
      model: basename(options.model),
      engine,
      architecture: isLilnet ? 'lilnet' : 'resnet',
      classes,
      inputs: inputNames,
      predicted_class: predicted,
    };
    for (const name of wanted) document[name] = rows(outputs[name]);
    process.stdout.write(`${JSON.stringify(document)}\n`);
    return;
  }

  const lines = [
    `model ${basename(options.model)} (${isLilnet ? 'LiLNet' : 'ResNet'}, ${engine} engine); probabilities are softmax of the ${isLilnet ? 'aggregated ' : ''}logits`,
  ];
  lines.push(['input', 'predicted', ...classes].join('\t'));
  decision.forEach((row, i) => {
    lines.push([inputNames[i], predicted[i], ...softmax(row).map((p) => p.toFixed(4))].join('\t'));
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('classifier logits for lesion crops or an NCHW tensor, from an ONNX file or a checkpoint')
    .argument(
      '[images...]',
      "crop image files (PNG, JPEG); resized to 224 x 224 and normalised as in the authors' evaluation",
    )
    .requiredOption(
      '--model <file>',
      "the authors' .pth.tar checkpoint, a PyTorch state dict (.pth), a lilnet training checkpoint, or an ONNX file",
    )
    .option(
      '--task <task>',
      'class labels: bm (benign/malignant), benign (FNH/HEM/CYST), malignant (HCC/ICC/MET); checked against the model',
    )
    .option('--engine <engine>', 'onnx (ONNX Runtime) or torch (libtorch addon; checkpoints only)', 'onnx')
    .option(
      '--input-tensor <file>',
      'raw little-endian float32 NCHW tensor, already normalised, instead of images',
    )
    .option('--shape <N,3,H,W>', 'shape of --input-tensor, e.g. 6,3,224,224')
    .option('--joint', 'also print the layer-4 and layer-3 joint logits [5N, 5K]')
    .option('--threads <count>', 'CPU threads of the engine (0: the engine chooses)', '0')
    .option(
      '--batch-size <count>',
      'images per engine call; lower it to use less memory',
      String(DEFAULT_PREDICT_BATCH_SIZE),
    )
    .option('--json', 'print one JSON document with the logits as arrays of rows')
    .action(runPredict);
}
