/**
 * Training of lilnet's lesion detector on libtorch. A run folder holds:
 * - `options.json`: the options the run started with;
 * - `last.ckpt`: the state after the latest epoch (parameters, momentum, random state), from which `resume`
 *   continues; `best.ckpt`: the parameters of the epoch with the best validation F1 at IoU 0.3;
 * - `best.onnx`: `best.ckpt` exported for ONNX Runtime at the end of the run;
 * - `metrics.jsonl` (one JSON record per line, as the classifier trainer writes) and `metrics.csv`: one entry
 *   per epoch; `curves.svg` and `curves.png`: training loss and validation F1.
 * Every file is written to a temporary name and renamed, so an interrupted run never leaves a torn file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { prepareOutputFolder } from '../output-folder.ts';
import { join } from 'node:path';
import { TorchOps } from '../backends/torch/ops.ts';
import { Sgd } from '../backends/torch/optim.ts';
import { ParameterStore } from '../backends/torch/parameters.ts';
import { noGrad, scope, setNumThreads, tensor, type TorchTensor } from '../backends/torch/tensor.ts';
import { Rng } from '../data/rng.ts';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import {
  DEFAULT_DETECTOR_CONFIG,
  detectorAnchors,
  detectorForward,
  detectorParameterSpecs,
  type DetectorConfig,
} from '../nn/detector.ts';
import { assignTargets } from './assign.ts';
import { DEFAULT_AUGMENT_OPTIONS, buildTrainingBatch } from './augment.ts';
import type { ScoredBox } from './box.ts';
import { decodeYoloOutput } from './decode.ts';
import {
  writeDetectorCheckpoint,
  readDetectorCheckpoint,
  type DetectorCheckpoint,
} from './detector-checkpoint.ts';
import { detectorLoss } from './detector-loss.ts';
import { evaluateDetections, type DetectionEvaluation } from './evaluate.ts';
import { exportDetectorOnnx } from './export-detector.ts';
import { trainingCurvesSvg } from './training-curves.ts';
import { svgToPng } from './pr-curve-plot.ts';
import { loadLetterboxedSample, openYoloDataset, type LetterboxedSample } from './yolo-dataset.ts';

const log = moduleLogger('detect.train');

/** Named network sizes. `small` is the default detector; `tiny` serves quick tests. */
export const DETECTOR_SIZES: Record<string, Omit<DetectorConfig, 'inputSize'>> = {
  small: {
    stageChannels: DEFAULT_DETECTOR_CONFIG.stageChannels,
    headChannels: DEFAULT_DETECTOR_CONFIG.headChannels,
    regMax: 16,
  },
  tiny: { stageChannels: [8, 16, 24, 32, 48], headChannels: 24, regMax: 16 },
};

export interface TrainDetectorOptions {
  data: string;
  outDir: string;
  epochs: number;
  batchSize: number;
  /** Peak learning rate of SGD; it decays along a cosine to 1% of this by the last epoch. */
  learningRate: number;
  momentum: number;
  weightDecay: number;
  inputSize: number;
  modelSize: keyof typeof DETECTOR_SIZES;
  seed: number;
  threads: number;
  valFraction: number;
  mosaicProbability: number;
  flipProbability: number;
  /** Use at most this many training images (0: all), chosen at random with the seed; for quick runs. */
  maxTrainImages: number;
  /** Continue from `last.ckpt` in `outDir`. */
  resume: boolean;
  /** Called with progress lines; the command writes them to stderr. */
  onProgress?: (line: string) => void;
}

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainDetectorOptions, 'data' | 'outDir'> = {
  epochs: 30,
  batchSize: 8,
  learningRate: 0.02,
  momentum: 0.9,
  weightDecay: 5e-4,
  inputSize: DEFAULT_DETECTOR_CONFIG.inputSize,
  modelSize: 'small',
  seed: 0,
  threads: 2,
  valFraction: 0.1,
  mosaicProbability: DEFAULT_AUGMENT_OPTIONS.mosaicProbability,
  flipProbability: DEFAULT_AUGMENT_OPTIONS.flipProbability,
  maxTrainImages: 0,
  resume: false,
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  classLoss: number;
  boxLoss: number;
  distributionLoss: number;
  learningRate: number;
  valPrecision30: number | null;
  valRecall30: number | null;
  valF1At30: number | null;
  valF1At50: number | null;
  valAp50: number | null;
  seconds: number;
}

export interface TrainDetectorResult {
  epochs: EpochRecord[];
  bestEpoch: number;
  bestScore: number;
  bestCheckpoint: string;
  bestOnnx: string;
}

const METRICS_HEADER =
  'epoch,train_loss,class_loss,box_loss,distribution_loss,learning_rate,val_precision_iou30,val_recall_iou30,val_f1_iou30,val_f1_iou50,val_ap50,seconds';

function writeAtomic(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, file);
}

function formatMetric(value: number | null): string {
  return value === null ? '' : value.toFixed(5);
}

function metricsRow(record: EpochRecord): string {
  return [
    record.epoch,
    record.trainLoss.toFixed(5),
    record.classLoss.toFixed(5),
    record.boxLoss.toFixed(5),
    record.distributionLoss.toFixed(5),
    record.learningRate.toExponential(4),
    formatMetric(record.valPrecision30),
    formatMetric(record.valRecall30),
    formatMetric(record.valF1At30),
    formatMetric(record.valF1At50),
    formatMetric(record.valAp50),
    record.seconds.toFixed(1),
  ].join(',');
}

function parseMetricsCsv(text: string): EpochRecord[] {
  const number = (value: string): number | null => (value === '' ? null : Number(value));
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = line.split(',');
      return {
        epoch: Number(fields[0]),
        trainLoss: Number(fields[1]),
        classLoss: Number(fields[2]),
        boxLoss: Number(fields[3]),
        distributionLoss: Number(fields[4]),
        learningRate: Number(fields[5]),
        valPrecision30: number(fields[6]),
        valRecall30: number(fields[7]),
        valF1At30: number(fields[8]),
        valF1At50: number(fields[9]),
        valAp50: number(fields[10]),
        seconds: Number(fields[11]),
      };
    });
}

function cosineLearningRate(options: TrainDetectorOptions, progress: number): number {
  const floor = 0.01;
  return options.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(progress, 1))));
}

async function loadSamples(
  samples: readonly { name: string; image: string; labelFile?: string }[],
  inputSize: number,
  progress: (line: string) => void,
  label: string,
): Promise<LetterboxedSample[]> {
  const loaded: LetterboxedSample[] = [];
  for (let index = 0; index < samples.length; index++) {
    loaded.push(await loadLetterboxedSample(samples[index], inputSize));
    if ((index + 1) % 500 === 0) progress(`loaded ${index + 1}/${samples.length} ${label} images`);
  }
  return loaded;
}

/** Runs the detector in evaluation mode on letterboxed samples and scores it in input pixels. */
export function validateDetector(
  store: ParameterStore,
  config: DetectorConfig,
  samples: readonly LetterboxedSample[],
  batchSize: number,
): DetectionEvaluation {
  const ops = new TorchOps();
  const size = config.inputSize;
  const plane = size * size;
  const predictions: ScoredBox[][] = [];
  for (let start = 0; start < samples.length; start += batchSize) {
    const batch = samples.slice(start, start + batchSize);
    const input = new Float32Array(batch.length * 3 * plane);
    batch.forEach((sample, index) => {
      for (let channel = 0; channel < 3; channel++) {
        const offset = (index * 3 + channel) * plane;
        for (let pixel = 0; pixel < plane; pixel++) input[offset + pixel] = sample.pixels[pixel] / 255;
      }
    });
    const output = noGrad(() =>
      scope(() => {
        const x = tensor(input, [batch.length, 3, size, size]);
        const result = detectorForward(ops, store.lookup, x, config, { training: false }).output;
        return { data: result.toFloat32Array(), dims: [...result.shape] };
      }),
    );
    batch.forEach((_, index) => predictions.push(decodeYoloOutput(output.data, output.dims, {}, index)));
  }
  return evaluateDetections(
    samples.map((sample, index) => ({
      name: sample.name,
      truth: sample.boxes,
      predictions: predictions[index],
    })),
    { iouThresholds: [0.3, 0.5] },
  );
}

function checkpointFromStore(store: ParameterStore, config: DetectorConfig): DetectorCheckpoint {
  const parameters = [...store.toStateDict()].map(([name, entry]) => ({
    name,
    shape: entry.shape,
    data: entry.data,
  }));
  return { config, parameters };
}

export async function trainDetector(options: TrainDetectorOptions): Promise<TrainDetectorResult> {
  const progress = options.onProgress ?? ((line: string) => log.info(line));
  prepareOutputFolder(options.outDir);
  const lastPath = join(options.outDir, 'last.ckpt');
  const bestPath = join(options.outDir, 'best.ckpt');
  const metricsPath = join(options.outDir, 'metrics.csv');

  let resumeFrom: DetectorCheckpoint | undefined;
  if (options.resume) {
    if (!existsSync(lastPath)) {
      throw new LilnetError('FILE_NOT_FOUND', `cannot resume: ${lastPath} does not exist`, {
        hint: 'start the run without --resume, or pass the --out folder of an interrupted run',
        file: lastPath,
      });
    }
    resumeFrom = readDetectorCheckpoint(lastPath);
    if (!resumeFrom.training) {
      throw new LilnetError('DETECTOR_MODEL_INVALID', `${lastPath} has no training state to resume from`, {
        file: lastPath,
      });
    }
    // The run continues with the options it started with, except the epoch count, which may be raised.
    const saved = resumeFrom.training.options as Partial<TrainDetectorOptions>;
    Object.assign(options, {
      ...saved,
      epochs: options.epochs,
      resume: true,
      onProgress: options.onProgress,
      outDir: options.outDir,
    });
  }

  const sizeConfig = DETECTOR_SIZES[options.modelSize];
  if (!sizeConfig) {
    throw new LilnetError('INVALID_ARGUMENT', `unknown detector size "${options.modelSize}"`, {
      hint: `choose one of ${Object.keys(DETECTOR_SIZES).join(', ')}`,
    });
  }
  const config: DetectorConfig = resumeFrom?.config ?? { ...sizeConfig, inputSize: options.inputSize };
  const savedOptions = Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'onProgress'));
  if (!resumeFrom)
    writeAtomic(
      join(options.outDir, 'options.json'),
      JSON.stringify({ ...savedOptions, config }, null, 2) + '\n',
    );

  setNumThreads(options.threads);
  const dataset = openYoloDataset(options.data, options.valFraction);
  const rng = resumeFrom ? Rng.fromState(resumeFrom.training!.rngState) : new Rng(options.seed);
  let trainSamples = dataset.train;
  if (options.maxTrainImages > 0 && trainSamples.length > options.maxTrainImages) {
    const order = new Rng(options.seed + 1);
    const shuffled = [...trainSamples];
    for (let index = shuffled.length - 1; index > 0; index--) {
      const other = order.int(0, index);
      [shuffled[index], shuffled[other]] = [shuffled[other], shuffled[index]];
    }
    trainSamples = shuffled.slice(0, options.maxTrainImages);
  }
  progress(
    `dataset ${options.data}: ${trainSamples.length} training and ${dataset.val.length} validation images`,
  );
  const train = await loadSamples(trainSamples, config.inputSize, progress, 'training');
  const val = await loadSamples(dataset.val, config.inputSize, progress, 'validation');

  const specs = detectorParameterSpecs(config);
  const store = ParameterStore.initialise(specs, options.seed);
  if (resumeFrom) {
    store.loadStateDict(
      new Map(resumeFrom.parameters.map((entry) => [entry.name, { shape: entry.shape, data: entry.data }])),
    );
  }
  const optimiser = new Sgd(store.trainableParameters(), {
    lr: options.learningRate,
    momentum: options.momentum,
    weightDecay: options.weightDecay,
    nesterov: true,
  });
  if (resumeFrom?.momentum)
    optimiser.loadMomentumBuffers(resumeFrom.momentum.map((entry) => (entry ? entry.data : null)));

  const ops = new TorchOps();
  const anchors = detectorAnchors(config.inputSize);
  const history: EpochRecord[] =
    resumeFrom && existsSync(metricsPath) ? parseMetricsCsv(readFileSync(metricsPath, 'utf8')) : [];
  let bestScore = resumeFrom?.training?.bestScore ?? -1;
  let bestEpoch = resumeFrom?.training?.bestEpoch ?? 0;
  let step = resumeFrom?.training?.step ?? 0;
  const firstEpoch = (resumeFrom?.training?.epoch ?? 0) + 1;
  const stepsPerEpoch = Math.ceil(train.length / options.batchSize);
  const augment = { mosaicProbability: options.mosaicProbability, flipProbability: options.flipProbability };

  for (let epoch = firstEpoch; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    const order = train.map((_, index) => index);
    for (let index = order.length - 1; index > 0; index--) {
      const other = rng.int(0, index);
      [order[index], order[other]] = [order[other], order[index]];
    }
    const sums = { total: 0, classLoss: 0, boxLoss: 0, distributionLoss: 0 };
    let learningRate = options.learningRate;
    for (let batchIndex = 0; batchIndex < stepsPerEpoch; batchIndex++) {
      const members = order
        .slice(batchIndex * options.batchSize, (batchIndex + 1) * options.batchSize)
        .map((index) => train[index]);
      const batch = buildTrainingBatch(
        members,
        () => train[rng.int(0, train.length - 1)],
        config.inputSize,
        rng,
        augment,
      );
      const targets = batch.boxes.map((boxes) => assignTargets(boxes, anchors, config.regMax));
      learningRate = cosineLearningRate(options, (epoch - 1 + batchIndex / stepsPerEpoch) / options.epochs);
      optimiser.lr = learningRate;
      const values = scope(() => {
        const x = tensor(batch.input, [members.length, 3, config.inputSize, config.inputSize]);
        const forward = detectorForward(ops, store.lookup, x, config, { training: true });
        const loss = detectorLoss<TorchTensor>(
          ops,
          forward,
          targets,
          batch.boxes,
          anchors.stride,
          config.regMax,
        );
        loss.total.backward();
        return [loss.total.item(), loss.classLoss.item(), loss.boxLoss.item(), loss.distributionLoss.item()];
      });
      if (!values.every(Number.isFinite)) {
        throw new LilnetError(
          'INTERNAL',
          `detector training diverged at epoch ${epoch}, step ${batchIndex + 1}: loss ${values[0]}`,
          {
            hint: 'lower --lr (for example by half) and start again',
          },
        );
      }
      optimiser.step();
      optimiser.zeroGrad();
      step++;
      sums.total += values[0];
      sums.classLoss += values[1];
      sums.boxLoss += values[2];
      sums.distributionLoss += values[3];
      if ((batchIndex + 1) % 20 === 0 || batchIndex + 1 === stepsPerEpoch) {
        const seconds = (performance.now() - started) / 1000;
        progress(
          `epoch ${epoch}/${options.epochs} step ${batchIndex + 1}/${stepsPerEpoch} loss ${(sums.total / (batchIndex + 1)).toFixed(4)} ` +
            `lr ${learningRate.toExponential(2)} ${(((batchIndex + 1) * options.batchSize) / seconds).toFixed(1)} img/s`,
        );
      }
    }

    const evaluation = val.length > 0 ? validateDetector(store, config, val, options.batchSize) : null;
    const at30 = evaluation?.thresholds[0];
    const at50 = evaluation?.thresholds[1];
    const record: EpochRecord = {
      epoch,
      trainLoss: sums.total / stepsPerEpoch,
      classLoss: sums.classLoss / stepsPerEpoch,
      boxLoss: sums.boxLoss / stepsPerEpoch,
      distributionLoss: sums.distributionLoss / stepsPerEpoch,
      learningRate,
      valPrecision30: at30?.precision ?? null,
      valRecall30: at30?.recall ?? null,
      valF1At30: at30?.f1 ?? null,
      valF1At50: at50?.f1 ?? null,
      valAp50: evaluation?.averagePrecision50 ?? null,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(record);
    // Without validation images the latest epoch counts as the best, and the best score stays -1 (none).
    const score = evaluation ? (record.valF1At30 ?? 0) : -1;
    const checkpoint = checkpointFromStore(store, config);
    if (score > bestScore || (!evaluation && score === bestScore)) {
      bestScore = score;
      bestEpoch = epoch;
      writeDetectorCheckpoint(bestPath, checkpoint);
    }
    writeDetectorCheckpoint(lastPath, {
      ...checkpoint,
      momentum: optimiser
        .momentumBuffers()
        .map((buffer, index) =>
          buffer
            ? { name: `momentum.${index}`, shape: [...buffer.shape], data: buffer.toFloat32Array() }
            : null,
        ),
      training: { epoch, step, rngState: rng.state(), bestScore, bestEpoch, options: savedOptions },
    });
    writeAtomic(metricsPath, [METRICS_HEADER, ...history.map(metricsRow)].join('\n') + '\n');
    writeAtomic(
      join(options.outDir, 'metrics.jsonl'),
      history.map((entry) => JSON.stringify(entry)).join('\n') + '\n',
    );
    const curves = trainingCurvesSvg(history);
    writeAtomic(join(options.outDir, 'curves.svg'), curves);
    writeAtomic(join(options.outDir, 'curves.png'), await svgToPng(curves));
    const percent = (value: number | null): string =>
      value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
    progress(
      `epoch ${epoch}/${options.epochs} done in ${record.seconds.toFixed(0)} s: loss ${record.trainLoss.toFixed(4)}, ` +
        `val P/R/F1 at IoU 0.3 ${percent(record.valPrecision30)} / ${percent(record.valRecall30)} / ${percent(record.valF1At30)}, ` +
        `AP50 ${percent(record.valAp50)}`,
    );
  }

  store.dispose();
  const bestOnnx = join(options.outDir, 'best.onnx');
  if (existsSync(bestPath)) writeAtomic(bestOnnx, exportDetectorOnnx(readDetectorCheckpoint(bestPath)));
  return { epochs: history, bestEpoch, bestScore, bestCheckpoint: bestPath, bestOnnx };
}
