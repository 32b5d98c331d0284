/**
 * `lilnet export-onnx`: writes a classifier checkpoint (the authors' `.pth.tar` or another torchvision-named
 * state dict of LiLNet or ResNet) as an ONNX model with a dynamic batch, for ONNX Runtime in Node or the browser.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  FEATURE_OUTPUT_NAMES,
  exportLilnetOnnx,
  exportResnetClassifierOnnx,
  stateDictParameters,
  type FeatureOutputName,
} from '../../backends/onnx/export-model.ts';
import { LilnetError } from '../../errors.ts';
import { isTaskName, TASK_NAMES, type TaskName } from '../../eval/tasks.ts';
import { moduleLogger } from '../../log.ts';
import { openClassifierModel, taskClasses } from '../../nn/classifier-model.ts';
import { lilnetConfig } from '../../nn/lilnet.ts';
import { resnetClassifierConfig } from '../../nn/resnet50.ts';

const log = moduleLogger('cli.export-onnx');

interface ExportCommandOptions {
  model: string;
  output: string;
  task?: string;
  features?: string;
  json?: boolean;
}

function parseFeatures(text: string | undefined): FeatureOutputName[] {
  if (!text) return [];
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(FEATURE_OUTPUT_NAMES as readonly string[]).includes(name)) {
      throw new LilnetError('INVALID_ARGUMENT', `--features ${name} is not a feature output`, {
        hint: `choose among ${FEATURE_OUTPUT_NAMES.join(', ')}`,
      });
    }
  }
  return names as FeatureOutputName[];
}

async function runExport(options: ExportCommandOptions): Promise<void> {
  if (options.task !== undefined && !isTaskName(options.task)) {
    throw new LilnetError('INVALID_ARGUMENT', `--task ${options.task} is unknown`, {
      hint: `use one of ${TASK_NAMES.join(', ')}`,
    });
  }
  const featureOutputs = parseFeatures(options.features);
  const model = await openClassifierModel(options.model);
  if (model.format === 'onnx') {
    throw new LilnetError('INVALID_ARGUMENT', `${options.model} is already an ONNX model`, {
      file: options.model,
      hint: 'pass a .pth or .pth.tar checkpoint to --model',
    });
  }
  const { kind, numClasses, trunk } = model.architecture;
  const classes = taskClasses(options.task as TaskName | undefined, numClasses, options.model);
  // Labels are recorded only when --task names them: predict trusts recorded labels and checks --task
  // against them, so placeholders such as `class 0` must not be recorded.
  const metadata: Record<string, string> = { 'lilnet.converted_from': basename(options.model) };
  if (options.task !== undefined) metadata['lilnet.classes'] = classes.join(',');
  const parameters = stateDictParameters(model.stateDict);
  const exported =
    kind === 'lilnet'
      ? exportLilnetOnnx(lilnetConfig(numClasses, trunk), { parameters, featureOutputs, metadata })
      : exportResnetClassifierOnnx(resnetClassifierConfig(numClasses, trunk), {
          parameters,
          featureOutputs,
          metadata,
        });

  // Written under a temporary name and renamed, so an interrupted export never leaves a truncated model.
  const temporary = `${options.output}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, exported.bytes);
    await rename(temporary, options.output);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new LilnetError('FILE_UNREADABLE', `cannot write ${options.output}: ${(error as Error).message}`, {
      file: options.output,
      hint: 'check that the output folder exists and is writable',
      cause: error,
    });
  }
  log.info(
    { model: basename(options.model), output: options.output, bytes: exported.bytes.byteLength },
    'exported ONNX model',
  );

  const summary = {
    output: options.output,
    architecture: kind,
    classes,
    bytes: exported.bytes.byteLength,
    inputs: exported.inputs,
    outputs: exported.outputs,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const describe = (info: { name: string; dims: (number | string)[] }) =>
    `  ${info.name} [${info.dims.join(', ')}]`;
  process.stdout.write(
    [
      `wrote ${options.output} (${kind}, ${classes.length} classes: ${classes.join(', ')}; ${(exported.bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`,
      'inputs:',
      ...exported.inputs.map(describe),
      'outputs:',
      ...exported.outputs.map(describe),
    ].join('\n') + '\n',
  );
}

export function registerExportOnnxCommand(program: Command): void {
  program
    .command('export-onnx')
    .description('write a LiLNet or ResNet checkpoint as an ONNX model (opset 17, dynamic batch)')
    .requiredOption(
      '--model <checkpoint>',
      "the authors' .pth.tar checkpoint, a torchvision-named state dict, or a lilnet training checkpoint",
    )
    .requiredOption('-o, --output <file.onnx>', 'the ONNX file to write')
    .option('--task <task>', 'bm, benign or malignant: checks the class count and records the class labels')
    .option(
      '--features <names>',
      `extra feature-map outputs, comma-separated: ${FEATURE_OUTPUT_NAMES.join(', ')}`,
    )
    .option('--json', 'print the written inputs and outputs as one JSON document')
    .action(runExport);
}
