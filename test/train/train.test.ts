import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthDataset } from '../../src/data/synth/generate.ts';
import { readTrainingCheckpoint } from '../../src/nn/checkpoint/lilnet-checkpoint.ts';
import { learningRateAt } from '../../src/train/schedule.ts';
import { runTraining, type TrainConfig } from '../../src/train/trainer.ts';
import { sharedPath } from '../helpers/shared.ts';

const TINY_TRUNK = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] as [number, number, number, number] };

function tinyConfig(dataRoot: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    task: 'benign',
    dataRoot,
    phases: ['AP', 'PVP'],
    epochs: 8,
    lr: 0.05,
    milestones: [6],
    batchSize: 16,
    evalBatchSize: 64,
    model: 'lilnet',
    trunkName: '4x1,1,1,1',
    trunk: TINY_TRUNK,
    inputSizePx: 32,
    seed: 1,
    validationFraction: 0.2,
    threads: 2,
    prefetch: 2,
    ...overrides,
  };
}

test('learning rate steps at milestones', () => {
  assert.equal(learningRateAt(0, 0.01, [20, 35]), 0.01);
  assert.equal(learningRateAt(19, 0.01, [20, 35]), 0.01);
  assert.ok(Math.abs(learningRateAt(20, 0.01, [20, 35]) - 0.001) < 1e-12);
  assert.ok(Math.abs(learningRateAt(49, 0.01, [20, 35]) - 0.0001) < 1e-12);
});

test('phantom training beats chance on held-out patients', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-train-'));
  try {
    await generateSynthDataset({
      outDir: join(root, 'data'),
      patients: 30,
      seed: 2,
      types: ['fnh', 'hem', 'cyst'],
      size: 128,
      slices: 10,
      maxCropsPerLesion: 2,
      testFraction: 0.3,
      outputs: ['crops'],
    });
    // Batch 8 gives batch norm enough steps per epoch for its running statistics to follow the weights.
    const summary = await runTraining(tinyConfig(join(root, 'data', 'crops'), { batchSize: 8 }), {
      runDir: join(root, 'run'),
      resume: false,
    });
    assert.equal(summary.history.length, 8);
    assert.equal(summary.validationPatients, 9);
    const last = summary.history[summary.history.length - 1];
    // Chance is 1/3 accuracy and 0.5 AUC for three balanced classes.
    assert.notEqual(last.valAuc, null);
    assert.ok(last.valAuc! >= 0.75, `validation AUC ${last.valAuc}`);
    assert.notEqual(last.valAccuracy, null);
    assert.ok(last.valAccuracy! >= 0.55, `validation accuracy ${last.valAccuracy}`);
    assert.ok(last.trainLoss < summary.history[0].trainLoss);

    const files = await readdir(join(root, 'run'));
    for (const name of ['best.ckpt', 'last.ckpt', 'config.json', 'metrics.jsonl', 'curves.svg', 'curves.png'])
      assert.ok(files.includes(name), name);
    const lines = (await readFile(join(root, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 8);
    const checkpoint = await readTrainingCheckpoint(join(root, 'run', 'last.ckpt'));
    assert.equal(checkpoint.epoch, 8);
    assert.equal(checkpoint.model.architecture, 'lilnet');
    assert.notEqual(checkpoint.optimizer, null);
    assert.ok(checkpoint.optimizer!.momentumBuffers.size > 0);
    await assert.rejects(
      runTraining(tinyConfig(join(root, 'data', 'crops')), { runDir: join(root, 'run'), resume: false }),
      /already contains a run/,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('resumed run equals uninterrupted run', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-resume-'));
  try {
    await generateSynthDataset({
      outDir: join(root, 'data'),
      patients: 12,
      seed: 3,
      types: ['fnh', 'hem', 'cyst'],
      size: 96,
      slices: 8,
      maxCropsPerLesion: 1,
      testFraction: 0.25,
      outputs: ['crops'],
    });
    // The learning-rate step at epoch 1 falls between the interrupted and the resumed part.
    const config = tinyConfig(join(root, 'data', 'crops'), { epochs: 2, milestones: [1] });
    const whole = await runTraining(config, { runDir: join(root, 'whole'), resume: false });
    const first = await runTraining(config, {
      runDir: join(root, 'split'),
      resume: false,
      maxEpochsThisRun: 1,
    });
    assert.equal(first.history.length, 1);
    const resumed = await runTraining(config, { runDir: join(root, 'split'), resume: true });
    assert.equal(resumed.epochsRun, 1);
    const strip = (entries: typeof whole.history) =>
      entries.map(({ epoch, lr, trainLoss, trainAccuracy, valAccuracy, valAuc }) => ({
        epoch,
        lr,
        trainLoss,
        trainAccuracy,
        valAccuracy,
        valAuc,
      }));
    assert.deepEqual(strip(resumed.history), strip(whole.history));
    const a = await readTrainingCheckpoint(join(root, 'whole', 'last.ckpt'));
    const b = await readTrainingCheckpoint(join(root, 'split', 'last.ckpt'));
    assert.deepEqual(b.stateDict.get('fc_SD.weight')!.data, a.stateDict.get('fc_SD.weight')!.data);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('real 8-bit slices flow through training', async () => {
  // The real slices carry no labels: benign/malignant codes alternate by patient as placeholders, so only
  // the data path is checked here, not what the model learns.
  const root = await mkdtemp(join(tmpdir(), 'lilnet-real-'));
  try {
    const source = sharedPath('data', 'real-ct', 'lesion-slices');
    const byPatient = new Map<string, string[]>();
    for (const name of (await readdir(source)).sort()) {
      const match = /^p(\d+)-(ap|pvp|nc|unknown)-\d+\.(png|jpg)$/.exec(name);
      if (match) byPatient.set(`p${match[1]}`, [...(byPatient.get(`p${match[1]}`) ?? []), name]);
    }
    assert.ok(byPatient.size >= 6, `${byPatient.size} patients in the real slices`);
    const rows = ['ID,Cancer'];
    let index = 0;
    for (const [patient, names] of byPatient) {
      for (const name of names) {
        const phase = name.includes('-pvp-') ? 'PVP' : name.includes('-nc-') ? 'CT' : 'AP';
        await mkdir(join(root, patient, phase), { recursive: true });
        await symlink(join(source, name), join(root, patient, phase, name));
      }
      rows.push(`${patient},${index % 2 === 0 ? 'good' : 'bad'}`);
      index++;
    }
    await writeFile(join(root, 'BM_train.csv'), `${rows.join('\n')}\n`);
    const summary = await runTraining(
      tinyConfig(root, { task: 'bm', epochs: 1, milestones: [], validationFraction: 0.34 }),
      { runDir: join(root, 'run'), resume: false },
    );
    assert.equal(summary.history.length, 1);
    assert.ok(summary.validationPatients >= 2);
    assert.ok(Number.isFinite(summary.history[0].trainLoss));
    assert.ok(summary.history[0].valAccuracy !== null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('case folders with lesion boxes train', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-cases-'));
  try {
    await generateSynthDataset({
      outDir: join(root, 'data'),
      patients: 6,
      seed: 4,
      types: ['fnh', 'hem', 'cyst'],
      size: 96,
      slices: 6,
      outputs: ['dicom'],
    });
    const summary = await runTraining(
      tinyConfig(join(root, 'data', 'cases'), { epochs: 1, milestones: [], validationFraction: 0.34 }),
      { runDir: join(root, 'run'), resume: false },
    );
    assert.ok(
      summary.trainPatients + summary.validationPatients >= 5,
      `${summary.trainPatients} + ${summary.validationPatients} patients`,
    );
    const crops = await readdir(join(root, 'run', 'crops-from-cases', 'SYN0001', 'AP'));
    assert.ok(crops.length > 0);
    const csv = await readFile(join(root, 'run', 'crops-from-cases', 'fnh_hem_cyst_train.csv'), 'utf8');
    assert.equal(csv.trim().split('\n').length, 7);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('init from the released checkpoint format', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-init-'));
  try {
    const { gunzipSync } = await import('node:zlib');
    const checkpointPath = join(root, 'malignant-reference.pth.tar');
    await writeFile(
      checkpointPath,
      gunzipSync(
        await readFile(sharedPath('fixtures', 'lilnet-reference', 'malignant-reference.pth.tar.gz')),
      ),
    );
    // Placeholder labels: the reference crops come without lesion types.
    const codes = ['hcc', 'icc', 'met'];
    const rows = ['ID,Cancer'];
    for (let i = 1; i <= 6; i++) {
      const patient = `R${i}`;
      await mkdir(join(root, 'data', patient, 'AP'), { recursive: true });
      await symlink(
        sharedPath('fixtures', 'lilnet-reference', 'crops', `crop-0${i}.png`),
        join(root, 'data', patient, 'AP', `crop-0${i}.png`),
      );
      rows.push(`${patient},${codes[(i - 1) % 3]}`);
    }
    await writeFile(join(root, 'data', 'hcc_icc_met_train.csv'), `${rows.join('\n')}\n`);
    const config = tinyConfig(join(root, 'data'), {
      task: 'malignant',
      phases: ['AP'],
      epochs: 1,
      milestones: [],
      lr: 0.0001,
      batchSize: 6,
      trunkName: 'full',
      trunk: { baseWidth: 64, blocksPerStage: [3, 4, 6, 3] },
      inputSizePx: 64,
      validationFraction: 0.34,
      init: checkpointPath,
    });
    await runTraining(config, { runDir: join(root, 'run'), resume: false });
    const { readPytorchCheckpoint } = await import('../../src/nn/checkpoint/pytorch-reader.ts');
    const reference = (await readPytorchCheckpoint(checkpointPath)).stateDict.get('layer4.2.conv3.weight')!
      .data as Float32Array;
    const trained = (await readTrainingCheckpoint(join(root, 'run', 'last.ckpt'))).stateDict.get(
      'layer4.2.conv3.weight',
    )!.data;
    let maxDifference = 0;
    for (let i = 0; i < reference.length; i++)
      maxDifference = Math.max(maxDifference, Math.abs(reference[i] - trained[i]));
    // One step at lr 1e-4 moves weights by far less than their spread, so the trunk started from the checkpoint.
    assert.ok(maxDifference < 1e-3, `max difference ${maxDifference}`);
    assert.ok(maxDifference > 0, 'the step changed nothing');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('lilnet train rejects bad options', async () => {
  const { spawnSync } = await import('node:child_process');
  const noRun = spawnSync(
    process.execPath,
    ['bin/lilnet.js', 'train', '--task', 'bm', '--data', '/nonexistent'],
    { encoding: 'utf8' },
  );
  assert.equal(noRun.status, 1);
  assert.match(noRun.stderr, /INVALID_ARGUMENT.*no run folder given/);
  const badTrunk = spawnSync(
    process.execPath,
    [
      'bin/lilnet.js',
      'train',
      '--task',
      'bm',
      '--data',
      '/nonexistent',
      '--out',
      '/tmp/x',
      '--trunk',
      'wide',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(badTrunk.status, 1);
  assert.match(badTrunk.stderr, /--trunk "wide" is not full, demo/);
  const badTask = spawnSync(
    process.execPath,
    ['bin/lilnet.js', 'train', '--task', 'hcc', '--data', '/nonexistent', '--out', '/tmp/x'],
    { encoding: 'utf8' },
  );
  assert.equal(badTask.status, 1);
  assert.match(badTask.stderr, /--task "hcc" is not one of bm, malignant, benign/);
});

test('lilnet train rejects settings on resume', async () => {
  const { spawnSync } = await import('node:child_process');
  const args = [
    'bin/lilnet.js',
    'train',
    '--resume',
    '/nonexistent-run',
    '--data',
    '/nonexistent',
    '--epochs',
    '80',
    '--lr',
    '0.1',
    '--threads',
    '1',
  ];
  const resumed = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /INVALID_ARGUMENT.*--epochs, --lr cannot be changed when resuming/);
  assert.doesNotMatch(resumed.stderr, /--threads/);
  assert.match(resumed.stderr, /--init <run dir>\/last\.ckpt/);
});

test('lilnet train rejects run folder under a file', async () => {
  const { spawnSync } = await import('node:child_process');
  const root = await mkdtemp(join(tmpdir(), 'lilnet-train-out-'));
  try {
    const file = join(root, 'notes.txt');
    await writeFile(file, '');
    const args = [
      'bin/lilnet.js',
      'train',
      '--task',
      'bm',
      '--data',
      root,
      '--out',
      join(file, 'run'),
      '--trunk',
      '4x1,1,1,1',
      '--input-size',
      '32',
      '--threads',
      '1',
    ];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /OUTPUT_FOLDER_FAILED.*notes\.txt\/run: a file is in the way/);
    assert.doesNotMatch(result.stderr, /unexpected error/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
