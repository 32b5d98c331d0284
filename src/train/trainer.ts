/**
 * The classifier training loop. Its defaults are the LiLNet recipe: SGD with momentum 0.9 and weight decay 1e-4
 * on every parameter, learning rate 0.01 multiplied by 0.1 at epochs 20 and 35, 50 epochs and batch 128. Classes
 * are balanced, AP and PVP crops are separate samples, and augmentation depends on the task.
 *
 * After each epoch it validates at patient level
 * (mean of the image logits per patient), writes `last.ckpt` and, when the validation AUC improves, `best.ckpt`
 * (both atomically), appends to `metrics.jsonl` and redraws `curves.svg`/`curves.png`.
 *
 * An interrupted run loses at most the epoch in progress: `resume` restarts from `last.ckpt` with the same
 * weights, batch-norm statistics, momentum buffers, schedule position and data order (order and augmentation
 * derive from the seed and the epoch number only).
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { prepareOutputFolder } from '../output-folder.ts';
import { join } from 'node:path';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { setNumThreads } from '../backends/torch/tensor.ts';
import {
  isTrainingCheckpointBytes,
  parseTrainingCheckpoint,
  readTrainingCheckpoint,
  writeTrainingCheckpoint,
} from '../nn/checkpoint/lilnet-checkpoint.ts';
import { readPytorchCheckpoint } from '../nn/checkpoint/pytorch-reader.ts';
import type { ModelConfig } from '../nn/models.ts';
import type { ResNetTrunkConfig } from '../nn/resnet.ts';
import { computeMetrics, prepareMetricData } from '../eval/metrics.ts';
import type { CropPhase, PatientEntry } from '../data/authors-dataset.ts';
import { balanceClasses } from '../data/balance.ts';
import { isCaseLayout, writeCropsFromCases } from '../data/case-layout.ts';
import { DEFAULT_CROP_WINDOW, SYNTH_DEFAULTS } from '../data/synth/options.ts';
import { TASKS, type TaskName } from '../data/lesions.ts';
import { batchStream, ImageCache, type LabelledImage } from '../data/pipeline.ts';
import { ClassifierRunner } from './model-runner.ts';
import { curvesSvg, svgToPng, type EpochMetrics } from './curves.ts';
import { loadRunData } from './dataset-split.ts';
import { ProgressReporter } from './progress.ts';
import { learningRateAt } from './schedule.ts';

const log = moduleLogger('train.loop');

export interface TrainConfig {
  task: TaskName;
  dataRoot: string;
  phases: CropPhase[];
  epochs: number;
  lr: number;
  milestones: number[];
  batchSize: number;
  evalBatchSize: number;
  model: 'lilnet' | 'resnet50';
  trunkName: string;
  trunk: ResNetTrunkConfig;
  inputSizePx: number;
  seed: number;
  trainCsv?: string;
  validationCsv?: string;
  validationFraction: number;
  /** Checkpoint to start from (authors' `.pth.tar`, a PyTorch state dict, or a lilnet training checkpoint). */
  init?: string;
  threads: number;
  prefetch: number;
}

/** Settings that must match when a run is resumed; the rest (threads, prefetch) may change. */
const RESUME_KEYS: (keyof TrainConfig)[] = [
  'task',
  'phases',
  'epochs',
  'lr',
  'milestones',
  'batchSize',
  'model',
  'trunk',
  'inputSizePx',
  'seed',
  'validationFraction',
];

export interface TrainSummary {
  runDir: string;
  epochsRun: number;
  history: EpochMetrics[];
  bestEpoch: number;
  bestValAuc: number | null;
  trainPatients: number;
  validationPatients: number;
  trainSamplesBalanced: number;
}

function modelConfigOf(config: TrainConfig): ModelConfig {
  const numClasses = TASKS[config.task].classCodes.length;
  return { architecture: config.model === 'lilnet' ? 'lilnet' : 'resnet', numClasses, trunk: config.trunk };
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/** Patient-level accuracy and macro one-vs-rest AUC of mean image logits, as the evaluation module computes them. */
export function patientLevelMetrics(
  patients: readonly PatientEntry[],
  sampleScores: Float32Array,
  classCount: number,
): { accuracy: number; auc: number | null } {
  const labels: number[] = [];
  const predictions: number[] = [];
  const scores: number[][] = [];
  let offset = 0;
  for (const patient of patients) {
    const mean = new Array<number>(classCount).fill(0);
    for (let s = 0; s < patient.samples.length; s++) {
      for (let k = 0; k < classCount; k++)
        mean[k] += sampleScores[(offset + s) * classCount + k] / patient.samples.length;
    }
    offset += patient.samples.length;
    labels.push(patient.label);
    scores.push(mean);
    predictions.push(mean.indexOf(Math.max(...mean)));
  }
  const values = computeMetrics(prepareMetricData(labels, predictions, scores, classCount));
  return { accuracy: values.accuracy, auc: values.aucMacro };
}

async function startRunner(config: TrainConfig, model: ModelConfig): Promise<ClassifierRunner> {
  if (!config.init) return ClassifierRunner.initialise(model, config.seed, config.lr);
  const bytes = new Uint8Array(
    await readFile(config.init).catch((error: unknown) => {
      throw new LilnetError('FILE_NOT_FOUND', `--init checkpoint ${config.init} not found`, {
        file: config.init,
        cause: error,
        hint: 'give the path of a .pth.tar or .ckpt file',
      });
    }),
  );
  const stateDict = isTrainingCheckpointBytes(bytes)
    ? parseTrainingCheckpoint(config.init, bytes).stateDict
    : (await readPytorchCheckpoint(config.init)).stateDict;
  // Heads sized for another task start from their initialisation; the trunk must match.
  const runner = ClassifierRunner.fromStateDict(model, stateDict, config.lr, false);
  log.info({ init: config.init }, 'weights initialised from checkpoint');
  return runner;
}

/** Scores of every sample of the patients, in patient then sample order. */
async function scorePatients(
  runner: ClassifierRunner,
  patients: readonly PatientEntry[],
  config: TrainConfig,
  cache: ImageCache,
): Promise<Float32Array> {
  const samples: LabelledImage[] = patients.flatMap((patient) => patient.samples);
  const classCount = runner.model.numClasses;
  const scores = new Float32Array(samples.length * classCount);
  let offset = 0;
  const stream = batchStream({
    samples,
    batchSize: config.evalBatchSize,
    sizePx: config.inputSizePx,
    family: 'none',
    seed: config.seed,
    epoch: 0,
    shuffle: false,
    prefetch: config.prefetch,
    cache,
  });
  for await (const batch of stream) {
    scores.set(runner.scores(batch.images, batch.shape), offset);
    offset += batch.labels.length * classCount;
  }
  return scores;
}

/**
 * Returns the crop-layout root to train from: the data root itself, or, for case folders with lesion boxes, crops cut
 * once into `<run>/crops-from-cases` (kept, so a resumed run reads the same crops).
 */
async function cropRootFor(dataRoot: string, runDir: string): Promise<string> {
  if (!(await isCaseLayout(dataRoot))) return dataRoot;
  const cropsRoot = join(runDir, 'crops-from-cases');
  if (!existsSync(join(cropsRoot, 'BM_train.csv'))) {
    await writeCropsFromCases(dataRoot, cropsRoot, {
      window: DEFAULT_CROP_WINDOW,
      cropMarginFraction: SYNTH_DEFAULTS.cropMarginFraction,
    });
  }
  return cropsRoot;
}

export interface RunOptions {
  runDir: string;
  /** Continue the run in `runDir` from its `last.ckpt` instead of starting a new one. */
  resume: boolean;
  /** Stop after this many epochs in this invocation (tests of resuming); default: run to the last epoch. */
  maxEpochsThisRun?: number;
}

export async function runTraining(configIn: TrainConfig, options: RunOptions): Promise<TrainSummary> {
  let config = configIn;
  const { runDir } = options;
  const lastPath = join(runDir, 'last.ckpt');
  const bestPath = join(runDir, 'best.ckpt');
  const metricsPath = join(runDir, 'metrics.jsonl');
  let startEpoch = 0;
  let bestValAuc: number | null = null;
  let bestScore = -Infinity;
  let bestEpoch = 0;
  let history: EpochMetrics[] = [];
  let runner: ClassifierRunner;
  const model = modelConfigOf(config);

  if (config.threads > 0) setNumThreads(config.threads);
  if (options.resume) {
    if (!existsSync(lastPath)) {
      throw new LilnetError('TRAIN_RUN_INVALID', `run folder ${runDir} has no last.ckpt to resume from`, {
        file: lastPath,
        hint: 'start a new run with --out, or pass the folder of an interrupted run',
      });
    }
    const checkpoint = await readTrainingCheckpoint(lastPath);
    const saved = checkpoint.config as unknown as TrainConfig;
    const changed = RESUME_KEYS.filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(config[key]));
    if (changed.length > 0) {
      log.info({ keys: changed }, 'resuming with the settings stored in the run');
    }
    // The stored settings win, so that the schedule, data order and model are those of the interrupted run.
    config = { ...saved, threads: config.threads, prefetch: config.prefetch, dataRoot: config.dataRoot };
    runner = ClassifierRunner.fromStateDict(checkpoint.model, checkpoint.stateDict, config.lr, true);
    if (checkpoint.optimizer) runner.loadOptimizerState(checkpoint.optimizer);
    startEpoch = checkpoint.epoch;
    bestValAuc = Number.isFinite(checkpoint.metrics.bestValAuc) ? checkpoint.metrics.bestValAuc : null;
    bestScore = checkpoint.metrics.bestScore ?? -Infinity;
    bestEpoch = checkpoint.metrics.bestEpoch ?? 0;
    if (existsSync(metricsPath)) {
      history = (await readFile(metricsPath, 'utf8'))
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as EpochMetrics)
        .filter((entry) => entry.epoch <= startEpoch);
      await writeAtomically(metricsPath, history.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    }
  } else {
    if (existsSync(lastPath)) {
      throw new LilnetError('TRAIN_RUN_INVALID', `run folder ${runDir} already contains a run (last.ckpt)`, {
        file: lastPath,
        hint: 'continue it with --resume, or choose another --out folder',
      });
    }
    runner = await startRunner(config, model);
  }

  try {
    prepareOutputFolder(runDir);
    const cropsRoot = await cropRootFor(config.dataRoot, runDir);
    // Crops cut from cases may lack a phase (a small lesion can miss every slice of one phase); those cases are skipped.
    const missingPatients = cropsRoot === config.dataRoot ? 'error' : 'skip';
    const data = await loadRunData({
      missingPatients,
      root: cropsRoot,
      task: config.task,
      phases: config.phases,
      trainCsv: config.trainCsv,
      validationCsv: config.validationCsv,
      validationFraction: config.validationFraction,
      seed: config.seed,
    });
    // Balancing happens once per run, before training, as in the recipe.
    const trainSamples = balanceClasses(
      data.train.flatMap((patient) => patient.samples),
      (sample) => sample.label,
    );
    await writeAtomically(
      join(runDir, 'config.json'),
      `${JSON.stringify({ ...config, trainPatients: data.train.length, validationPatients: data.validation.length, validationSource: data.validationSource, trainSamplesBalanced: trainSamples.length }, null, 2)}\n`,
    );
    log.info(
      {
        trainPatients: data.train.length,
        validationPatients: data.validation.length,
        samples: trainSamples.length,
        startEpoch,
      },
      'training',
    );

    const cache = new ImageCache();
    const family = TASKS[config.task].augmentation;
    const lastEpoch =
      options.maxEpochsThisRun === undefined
        ? config.epochs
        : Math.min(config.epochs, startEpoch + options.maxEpochsThisRun);
    const progress = new ProgressReporter(process.stderr);
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const started = performance.now();
      runner.sgd.lr = learningRateAt(epoch, config.lr, config.milestones);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let stepMs = 0;
      const totalBatches = Math.ceil(trainSamples.length / config.batchSize);
      let batchIndex = 0;
      const stream = batchStream({
        samples: trainSamples,
        batchSize: config.batchSize,
        sizePx: config.inputSizePx,
        family,
        seed: config.seed,
        epoch,
        shuffle: true,
        prefetch: config.prefetch,
        cache,
      });
      for await (const batch of stream) {
        const stepStarted = performance.now();
        const result = runner.step(batch.images, batch.shape, batch.labels);
        stepMs += performance.now() - stepStarted;
        if (!Number.isFinite(result.loss)) {
          throw new LilnetError(
            'TRAIN_RUN_INVALID',
            `training loss became ${result.loss} at epoch ${epoch + 1}, batch ${batchIndex + 1}`,
            { hint: 'lower --lr, or resume from the last checkpoint' },
          );
        }
        lossSum += result.loss * batch.labels.length;
        correct += result.correct;
        seen += batch.labels.length;
        batchIndex++;
        const seconds = (performance.now() - started) / 1000;
        progress.update({
          epoch: epoch + 1,
          epochs: config.epochs,
          batch: batchIndex,
          batches: totalBatches,
          loss: lossSum / seen,
          accuracy: correct / seen,
          imagesPerSecond: seen / seconds,
          lr: runner.sgd.lr,
        });
      }
      const trainMs = performance.now() - started;
      const scores = await scorePatients(runner, data.validation, config, cache);
      const validation =
        data.validation.length > 0
          ? patientLevelMetrics(data.validation, scores, runner.model.numClasses)
          : { accuracy: null, auc: null };
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        lr: runner.sgd.lr,
        trainLoss: lossSum / seen,
        trainAccuracy: correct / seen,
        imagesPerSecond: seen / (trainMs / 1000),
        valAccuracy: validation.accuracy,
        valAuc: validation.auc,
        valPatients: data.validation.length,
        elapsedMs: Math.round(performance.now() - started),
      };
      progress.finishEpoch(metrics, seen / (stepMs / 1000));
      // Best by validation AUC, then accuracy; the first epoch reaching a score keeps it.
      // Without validation patients the latest epoch counts as the best.
      const score =
        data.validation.length > 0 ? (validation.auc ?? 0) * 10 + (validation.accuracy ?? 0) : epoch;
      const improved = score > bestScore;
      if (improved) {
        bestScore = score;
        bestValAuc = validation.auc;
        bestEpoch = epoch + 1;
      }
      const checkpointMetrics: Record<string, number> = {
        trainLoss: metrics.trainLoss,
        trainAccuracy: metrics.trainAccuracy,
        bestScore,
        bestEpoch,
      };
      if (validation.accuracy !== null) checkpointMetrics.valAccuracy = validation.accuracy;
      if (validation.auc !== null) checkpointMetrics.valAuc = validation.auc;
      if (bestValAuc !== null) checkpointMetrics.bestValAuc = bestValAuc;
      const checkpoint = runner.checkpoint(
        epoch + 1,
        config as unknown as Record<string, unknown>,
        checkpointMetrics,
      );
      if (improved) await writeTrainingCheckpoint(bestPath, checkpoint);
      await writeTrainingCheckpoint(lastPath, checkpoint);
      history.push(metrics);
      await appendFile(metricsPath, `${JSON.stringify(metrics)}\n`);
      const svg = curvesSvg(history);
      await writeAtomically(join(runDir, 'curves.svg'), svg);
      await writeAtomically(join(runDir, 'curves.png'), await svgToPng(svg));
    }
    return {
      runDir,
      epochsRun: lastEpoch - startEpoch,
      history,
      bestEpoch,
      bestValAuc,
      trainPatients: data.train.length,
      validationPatients: data.validation.length,
      trainSamplesBalanced: trainSamples.length,
    };
  } finally {
    runner.dispose();
  }
}
