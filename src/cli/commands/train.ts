/**
 * `lilnet train`: trains a benign/malignant, HCC/ICC/MET or FNH/HEM/CYST classifier (LiLNet or the plain
 * ResNet-50 baseline) on the authors' crop layout with the recipe of Wei, Yang et al. (Nat Commun 2024), and
 * resumes interrupted runs.
 */
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { DEFAULT_CROP_PHASES, parseCropPhases } from '../../data/authors-dataset.ts';
import { TASK_NAMES, type TaskName } from '../../data/lesions.ts';
import { DEMO_TRUNK } from '../../nn/lilnet.ts';
import { RESNET50_TRUNK, validateTrunkConfig, type ResNetTrunkConfig } from '../../nn/resnet.ts';
import { runTraining, type TrainConfig } from '../../train/trainer.ts';

interface TrainCommandOptions {
  task?: string;
  data?: string;
  phases: string;
  epochs: string;
  lr: string;
  schedule: string;
  batch: string;
  evalBatch: string;
  model: string;
  trunk: string;
  inputSize: string;
  seed: string;
  trainCsv?: string;
  valCsv?: string;
  valFraction: string;
  init?: string;
  resume?: string;
  out?: string;
  threads: string;
  prefetch: string;
  json?: boolean;
}

function integer(option: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${option} "${text}" is not a whole number of at least ${minimum}`,
      { hint: `give ${option} a whole number >= ${minimum}` },
    );
  }
  return value;
}

function positive(option: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new LilnetError('INVALID_ARGUMENT', `${option} "${text}" is not a positive number`, {
      hint: `give ${option} a number > 0`,
    });
  }
  return value;
}

/** Options that a resumed run may change; every other setting is read from the run's last.ckpt. */
const OPTIONS_KEPT_ON_RESUME = new Set(['resume', 'data', 'threads', 'prefetch', 'json']);

/**
 * Rejects settings given on the command line together with --resume. The run continues with the settings stored
 * in its checkpoint, so an explicit `--epochs 80` would otherwise be dropped without notice.
 */
function rejectSettingsOnResume(command: Command): void {
  const explicitOptions = command.options
    .map((option) => option.attributeName())
    .filter((name) => !OPTIONS_KEPT_ON_RESUME.has(name) && command.getOptionValueSource(name) === 'cli')
    .map((name) => command.options.find((option) => option.attributeName() === name)?.long ?? name);
  if (explicitOptions.length === 0) return;
  throw new LilnetError(
    'INVALID_ARGUMENT',
    `${explicitOptions.join(', ')} cannot be changed when resuming: the run keeps the settings stored in its last.ckpt`,
    {
      hint: 'drop these options to continue the run as it was, or start a new run from its weights with --init <run dir>/last.ckpt --out <new dir>',
    },
  );
}

/** Parses `full` (ResNet-50), `demo` (quarter width) or `<base width>x<b1>,<b2>,<b3>,<b4>` such as `8x1,1,1,1`. */
export function parseTrunk(text: string): ResNetTrunkConfig {
  if (text === 'full') return RESNET50_TRUNK;
  if (text === 'demo') return DEMO_TRUNK;
  const match = /^(\d+)x(\d+),(\d+),(\d+),(\d+)$/.exec(text.trim());
  if (!match) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--trunk "${text}" is not full, demo or <width>x<b1>,<b2>,<b3>,<b4>`,
      { hint: 'for example --trunk demo, or --trunk 8x1,1,1,1 for a tiny test trunk' },
    );
  }
  const trunk: ResNetTrunkConfig = {
    baseWidth: Number(match[1]),
    blocksPerStage: [Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5])],
  };
  validateTrunkConfig(trunk);
  return trunk;
}

export function parseTask(text: string): TaskName {
  const task = text.toLowerCase();
  if (!TASK_NAMES.includes(task as TaskName)) {
    throw new LilnetError('INVALID_ARGUMENT', `--task "${text}" is not one of ${TASK_NAMES.join(', ')}`, {
      hint: 'bm: benign vs malignant; malignant: HCC/ICC/MET; benign: FNH/HEM/CYST',
    });
  }
  return task as TaskName;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      "train a LiLNet or ResNet-50 classifier on lesion crops in the authors' layout (paper recipe by default)",
    )
    .option(
      '--task <task>',
      `classification task: ${TASK_NAMES.join(', ')} (bm: benign/malignant, malignant: HCC/ICC/MET, benign: FNH/HEM/CYST)`,
    )
    .option(
      '--data <root>',
      'dataset root: <root>/<patient>/{CT,AP,PVP}/*.png|bmp|jpg and <task>_train.csv / _test.csv',
    )
    .option('--phases <list>', 'phases whose crops are samples (AP, PVP, NC)', DEFAULT_CROP_PHASES.join(','))
    .option('--epochs <n>', 'training epochs', '50')
    .option('--lr <rate>', 'initial learning rate of SGD (momentum 0.9, weight decay 1e-4)', '0.01')
    .option('--schedule <epochs>', 'epochs at which the learning rate is multiplied by 0.1', '20,35')
    .option('--batch <n>', 'training batch size', '128')
    .option('--eval-batch <n>', 'validation batch size', '512')
    .option('--model <name>', 'lilnet or resnet50 (the plain baseline)', 'lilnet')
    .option(
      '--trunk <trunk>',
      'full (ResNet-50), demo (quarter width) or <width>x<b1>,<b2>,<b3>,<b4>',
      'full',
    )
    .option('--input-size <pixels>', 'side of the model input (224 in the paper)', '224')
    .option('--seed <n>', 'seed of initialisation, data order and augmentation', '1')
    .option('--train-csv <file>', 'training CSV (default <root>/<task stem>_train.csv)')
    .option('--val-csv <file>', 'validation CSV (default <root>/<task stem>_test.csv when present)')
    .option(
      '--val-fraction <f>',
      'share of training patients held out for validation when there is no validation CSV',
      '0.2',
    )
    .option(
      '--init <checkpoint>',
      "start from weights: the authors' .pth.tar, a PyTorch state dict or a lilnet .ckpt",
    )
    .option('--resume <run dir>', 'continue an interrupted run from its last.ckpt')
    .option('--out <run dir>', 'run folder for config.json, metrics.jsonl, curves and checkpoints')
    .option('--threads <n>', 'libtorch CPU threads (0: libtorch chooses)', '0')
    .option('--prefetch <n>', 'batches prepared ahead of the engine', '2')
    .option('--json', 'print the run summary as one JSON document')
    .action(async (options: TrainCommandOptions, command: Command) => {
      if (options.resume) rejectSettingsOnResume(command);
      const runDir = options.resume ?? options.out;
      if (!runDir)
        throw new LilnetError('INVALID_ARGUMENT', 'no run folder given', {
          hint: 'pass --out <run dir> for a new run or --resume <run dir>',
        });
      if (!options.data)
        throw new LilnetError('INVALID_ARGUMENT', 'no dataset given', {
          hint: 'pass --data <root> of the crop layout',
        });
      if (!options.resume && !options.task)
        throw new LilnetError('INVALID_ARGUMENT', 'no task given', {
          hint: `pass --task ${TASK_NAMES.join('|')}`,
        });
      if (options.model !== 'lilnet' && options.model !== 'resnet50') {
        throw new LilnetError('INVALID_ARGUMENT', `--model "${options.model}" is not lilnet or resnet50`, {
          hint: 'use --model lilnet or --model resnet50',
        });
      }
      const milestones =
        options.schedule.trim() === ''
          ? []
          : options.schedule.split(',').map((part) => integer('--schedule', part.trim(), 1));
      const validationFraction = Number(options.valFraction);
      if (!(validationFraction >= 0 && validationFraction < 1)) {
        throw new LilnetError(
          'INVALID_ARGUMENT',
          `--val-fraction "${options.valFraction}" is not in [0, 1)`,
          { hint: 'for example --val-fraction 0.2' },
        );
      }
      const config: TrainConfig = {
        task: parseTask(options.task ?? 'bm'),
        dataRoot: options.data,
        phases: parseCropPhases(options.phases),
        epochs: integer('--epochs', options.epochs, 1),
        lr: positive('--lr', options.lr),
        milestones,
        batchSize: integer('--batch', options.batch, 1),
        evalBatchSize: integer('--eval-batch', options.evalBatch, 1),
        model: options.model,
        trunkName: options.trunk,
        trunk: parseTrunk(options.trunk),
        inputSizePx: integer('--input-size', options.inputSize, 32),
        seed: integer('--seed', options.seed, 0),
        trainCsv: options.trainCsv,
        validationCsv: options.valCsv,
        validationFraction,
        init: options.init,
        threads: integer('--threads', options.threads, 0),
        prefetch: integer('--prefetch', options.prefetch, 1),
      };
      // Checkpoints are written atomically at the end of each epoch, so stopping here loses only the epoch in progress.
      const onInterrupt = () => {
        process.stderr.write(
          `\nlilnet train: interrupted; continue with: lilnet train --resume ${runDir} --data ${options.data}\n`,
        );
        process.exit(130);
      };
      process.once('SIGINT', onInterrupt);
      let summary;
      try {
        summary = await runTraining(config, { runDir, resume: options.resume !== undefined });
      } finally {
        process.removeListener('SIGINT', onInterrupt);
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const last = summary.history[summary.history.length - 1];
      process.stdout.write(
        `Run ${summary.runDir}: ${summary.epochsRun} epochs this time, ${summary.history.length} in all; ` +
          `best epoch ${summary.bestEpoch} (validation AUC ${summary.bestValAuc === null ? 'n/a' : summary.bestValAuc.toFixed(3)}); ` +
          `last validation accuracy ${last?.valAccuracy === null || last === undefined ? 'n/a' : `${(100 * last.valAccuracy).toFixed(1)}%`}\n`,
      );
    });
}
