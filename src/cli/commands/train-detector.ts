/** `lilnet train-detector`: trains lilnet's lesion detector on a YOLO dataset with libtorch. */
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { DEFAULT_TRAIN_OPTIONS, DETECTOR_SIZES, trainDetector } from '../../detect/train-detector.ts';

interface TrainDetectorCliOptions {
  data: string;
  out: string;
  epochs: string;
  batch: string;
  lr: string;
  imgsz: string;
  size: string;
  seed: string;
  threads: string;
  valFraction: string;
  mosaic: string;
  flip: string;
  maxImages: string;
  resume?: boolean;
  json?: boolean;
}

function parseNumber(
  text: string,
  option: string,
  check: (value: number) => boolean,
  expected: string,
): number {
  const value = Number(text);
  if (!Number.isFinite(value) || !check(value)) {
    throw new LilnetError('INVALID_ARGUMENT', `${option} "${text}" is invalid: expected ${expected}`, {
      hint: `see lilnet train-detector --help`,
    });
  }
  return value;
}

const positiveInteger = (value: number): boolean => Number.isInteger(value) && value > 0;
const fraction = (value: number): boolean => value >= 0 && value <= 1;

export function registerTrainDetectorCommand(program: Command): void {
  const defaults = DEFAULT_TRAIN_OPTIONS;
  program
    .command('train-detector')
    .description('train the lesion detector on a YOLO dataset (images/ and labels/) with libtorch')
    .requiredOption(
      '--data <root>',
      'YOLO dataset root with images/ and labels/ (train/ and val/ subfolders, or flat)',
    )
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics.csv, curves, best.onnx')
    .option('--epochs <n>', 'epochs to train (with --resume: the new total)', String(defaults.epochs))
    .option('--batch <n>', 'images per step', String(defaults.batchSize))
    .option('--lr <rate>', 'peak SGD learning rate (cosine decay to 1%)', String(defaults.learningRate))
    .option('--imgsz <pixels>', 'square model input side, a multiple of 32', String(defaults.inputSize))
    .option('--size <name>', `network size: ${Object.keys(DETECTOR_SIZES).join(', ')}`, defaults.modelSize)
    .option('--seed <n>', 'seed of initialisation, data order and augmentation', String(defaults.seed))
    .option('--threads <n>', 'libtorch threads', String(defaults.threads))
    .option(
      '--val-fraction <f>',
      'share of a flat dataset held out for validation',
      String(defaults.valFraction),
    )
    .option('--mosaic <p>', 'probability of a mosaic of four images', String(defaults.mosaicProbability))
    .option('--flip <p>', 'probability of a left-right flip', String(defaults.flipProbability))
    .option('--max-images <n>', 'train on at most this many images, 0 for all', '0')
    .option('--resume', 'continue the run in --out from its last.ckpt')
    .option('--json', 'print the per-epoch records and the best checkpoint as one JSON document')
    .action(async (options: TrainDetectorCliOptions) => {
      const result = await trainDetector({
        data: options.data,
        outDir: options.out,
        epochs: parseNumber(options.epochs, '--epochs', positiveInteger, 'a positive integer'),
        batchSize: parseNumber(options.batch, '--batch', positiveInteger, 'a positive integer'),
        learningRate: parseNumber(options.lr, '--lr', (value) => value > 0, 'a positive number'),
        momentum: defaults.momentum,
        weightDecay: defaults.weightDecay,
        inputSize: parseNumber(
          options.imgsz,
          '--imgsz',
          (value) => positiveInteger(value) && value % 32 === 0 && value >= 64,
          'a multiple of 32, at least 64',
        ),
        modelSize: options.size,
        seed: parseNumber(options.seed, '--seed', Number.isInteger, 'an integer'),
        threads: parseNumber(options.threads, '--threads', positiveInteger, 'a positive integer'),
        valFraction: parseNumber(options.valFraction, '--val-fraction', fraction, 'a number in [0, 1]'),
        mosaicProbability: parseNumber(options.mosaic, '--mosaic', fraction, 'a number in [0, 1]'),
        flipProbability: parseNumber(options.flip, '--flip', fraction, 'a number in [0, 1]'),
        maxTrainImages: parseNumber(
          options.maxImages,
          '--max-images',
          (value) => Number.isInteger(value) && value >= 0,
          'a non-negative integer',
        ),
        resume: options.resume ?? false,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      process.stdout.write(
        `best epoch ${result.bestEpoch} (validation F1 at IoU 0.3: ${result.bestScore < 0 ? 'n/a' : (100 * result.bestScore).toFixed(1) + '%'})\n` +
          `checkpoint ${result.bestCheckpoint}\nONNX ${result.bestOnnx}\n`,
      );
    });
}
