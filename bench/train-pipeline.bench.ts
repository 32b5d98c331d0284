/**
 * Training-loop throughput against the bare engine step on the same batches, and peak memory per batch size.
 *
 * Usage: node --import tsx bench/train-pipeline.bench.ts [steps=3] [trunk=demo] [size=224] [batches=32,128]
 *
 * Each batch size runs in a child process, so that peak RSS is per batch size. The child generates synthetic
 * FNH/HEM/CYST crops and times (a) the bare LiLNet training step on batches prepared beforehand and (b) the
 * full loop: decoding, seeded augmentation and batch assembly through the prefetching pipeline, then the same
 * step.
 * The first step of each part warms up and is not timed. It also prints the time the pipeline alone takes per
 * batch (cold decode cache, no engine steps), which varies less than the difference of two loaded timings.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAuthorsSplit, samplesOf } from '../src/data/authors-dataset.ts';
import { balanceClasses } from '../src/data/balance.ts';
import { batchStream, ImageCache, type Batch } from '../src/data/pipeline.ts';
import { generateSynthDataset } from '../src/data/synth/generate.ts';
import { parseTrunk } from '../src/cli/commands/train.ts';
import { ClassifierRunner } from '../src/train/model-runner.ts';

const [stepsArg = '3', trunkArg = 'demo', sizeArg = '224', batchesArg = '32,128'] = process.argv.slice(2);
const steps = Number(stepsArg);
const sizePx = Number(sizeArg);

async function measure(batchSize: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-bench-train-'));
  try {
    await generateSynthDataset({
      outDir: root,
      patients: 30,
      seed: 1,
      types: ['fnh', 'hem', 'cyst'],
      size: 256,
      slices: 12,
      outputs: ['crops'],
      testFraction: 0,
    });
    const patients = await readAuthorsSplit(
      join(root, 'crops'),
      join(root, 'crops', 'fnh_hem_cyst_train.csv'),
      { task: 'benign' },
    );
    let samples = balanceClasses(samplesOf(patients), (s) => s.label);
    while (samples.length < batchSize * (steps + 1)) samples = [...samples, ...samples];
    const runner = ClassifierRunner.initialise(
      { architecture: 'lilnet', numClasses: 3, trunk: parseTrunk(trunkArg) },
      1,
      0.01,
    );
    const streamOptions = {
      samples,
      batchSize,
      sizePx,
      family: 'subtype' as const,
      seed: 1,
      shuffle: true,
      prefetch: 2,
    };

    // (a) Bare engine: batches built first, then only the steps are timed.
    const prepared: Batch[] = [];
    const prepareStarted = performance.now();
    for await (const batch of batchStream({ ...streamOptions, epoch: 0, cache: new ImageCache() })) {
      prepared.push(batch);
      if (prepared.length === steps + 1) break;
    }
    const prepareSeconds = (performance.now() - prepareStarted) / 1000;
    runner.step(prepared[0].images, prepared[0].shape, prepared[0].labels);
    let started = performance.now();
    for (const batch of prepared.slice(1)) runner.step(batch.images, batch.shape, batch.labels);
    const bareSeconds = (performance.now() - started) / 1000;

    // (b) Full loop on the same batches, with a cold decode cache: pipeline and step interleaved.
    let count = 0;
    started = 0;
    for await (const batch of batchStream({ ...streamOptions, epoch: 0, cache: new ImageCache() })) {
      runner.step(batch.images, batch.shape, batch.labels);
      count++;
      if (count === 1) started = performance.now();
      if (count === steps + 1) break;
    }
    const loopSeconds = (performance.now() - started) / 1000;
    const images = steps * batchSize;
    const usage = process.resourceUsage();
    console.log(
      JSON.stringify({
        batchSize,
        steps,
        trunk: trunkArg,
        sizePx,
        bareImagesPerSecond: +(images / bareSeconds).toFixed(2),
        loopImagesPerSecond: +(images / loopSeconds).toFixed(2),
        pipelineOnlySecondsPerBatch: +(prepareSeconds / (steps + 1)).toFixed(3),
        engineSecondsPerBatch: +(bareSeconds / steps).toFixed(3),
        pipelineOverheadPercent: +((100 * (loopSeconds - bareSeconds)) / bareSeconds).toFixed(1),
        peakRssMiB: Math.round(usage.maxRSS / 1024),
      }),
    );
    runner.dispose();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.env.LILNET_BENCH_CHILD) {
  await measure(Number(process.env.LILNET_BENCH_CHILD));
} else {
  console.log(
    `training loop vs bare engine step: ${steps} timed steps, trunk ${trunkArg}, input ${sizePx} px`,
  );
  for (const batchSize of batchesArg.split(',').map(Number)) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      {
        env: { ...process.env, LILNET_BENCH_CHILD: String(batchSize), LILNET_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (child.status !== 0) process.exitCode = 1;
  }
}
