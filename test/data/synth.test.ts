import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateSynthDataset } from '../../src/data/synth/generate.ts';
import {
  depthToSlice,
  samplePatient,
  sliceDepthMm,
  type SynthPatient,
} from '../../src/data/synth/patient.ts';
import { renderRegion, renderSlice, sampleLesionAt, pixelToMm } from '../../src/data/synth/render.ts';
import { tissueHu, type SynthPhase } from '../../src/data/synth/tissue.ts';
import type { LesionType } from '../../src/data/lesions.ts';
import { readCase } from '../../src/imaging/read-case.ts';
import { isLilnetError } from '../../src/errors.ts';

const GEOMETRY = { size: 128, slices: 10, pixelSpacingMm: 360 / 128, sliceThicknessMm: 16 };

async function hashTree(root: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name === 'synth.json') continue;
    const path = join(entry.parentPath, entry.name);
    hashes.set(
      path.slice(root.length),
      createHash('sha1')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return hashes;
}

/** Finds a patient whose first lesion is 3 to 5 cm, so that its core and rim span many pixels. */
function patientWithLargeLesion(type: LesionType): SynthPatient {
  for (let index = 0; index < 200; index++) {
    const patient = samplePatient({
      index,
      datasetSeed: 11,
      lesionType: type,
      geometry: { ...GEOMETRY, size: 256, pixelSpacingMm: 360 / 256 },
    });
    const lesion = patient.lesions[0];
    if (
      lesion.diameterMm >= 30 &&
      lesion.diameterMm <= 55 &&
      lesion.features.necrosisRho === 0 &&
      lesion.features.cleftRho === 0
    ) {
      if (type === 'hem' && lesion.features.flashFilling) continue;
      return patient;
    }
  }
  throw new Error(`no ${type} patient with a 3 to 5 cm lesion in the first 200 seeds`);
}

/** Mean noise-free HU of the lesion pixels with normalised radius in [rhoLow, rhoHigh) on its centre slice. */
function lesionMeanHu(patient: SynthPatient, phase: SynthPhase, rhoLow: number, rhoHigh: number): number {
  const lesion = patient.lesions[0];
  const { size, pixelSpacingMm } = patient.geometry;
  const slice = Math.round(depthToSlice(patient.geometry, lesion.centreMm[2]));
  const zMm = sliceDepthMm(patient.geometry, slice);
  const image = renderSlice(patient, phase, slice, { noise: false });
  const [shiftX, shiftY] = patient.phaseShiftMm[phase];
  let sum = 0;
  let count = 0;
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      const x = pixelToMm(column, size, pixelSpacingMm) - shiftX;
      const y = pixelToMm(row, size, pixelSpacingMm) - shiftY;
      const sample = sampleLesionAt(lesion, x, y, zMm, pixelSpacingMm);
      if (sample.coverage < 1 || sample.rho < rhoLow || sample.rho >= rhoHigh) continue;
      sum += image[row * size + column];
      count++;
    }
  }
  assert.ok(count > 0, `no lesion pixels with rho in [${rhoLow}, ${rhoHigh})`);
  return sum / count;
}

function liverHu(patient: SynthPatient, phase: SynthPhase): number {
  return tissueHu('liver', phase, patient.profile);
}

test('synth HCC enhances arterially and washes out', () => {
  const patient = patientWithLargeLesion('hcc');
  assert.ok(lesionMeanHu(patient, 'AP', 0, 0.8) > liverHu(patient, 'AP') + 15);
  assert.ok(lesionMeanHu(patient, 'PVP', 0, 0.8) < liverHu(patient, 'PVP') - 8);
  assert.ok(lesionMeanHu(patient, 'DP', 0, 0.8) < liverHu(patient, 'DP') - 8);
  assert.ok(lesionMeanHu(patient, 'NC', 0, 0.8) < liverHu(patient, 'NC'));
});

test('synth cyst stays at water density', () => {
  const patient = patientWithLargeLesion('cyst');
  for (const phase of ['NC', 'AP', 'PVP', 'DP'] as SynthPhase[]) {
    const mean = lesionMeanHu(patient, phase, 0, 0.9);
    assert.ok(mean >= -1, `${phase} mean ${mean}`);
    assert.ok(mean <= 16, `${phase} mean ${mean}`);
  }
});

test('synth FNH is iso-attenuating after the arterial phase', () => {
  const patient = patientWithLargeLesion('fnh');
  assert.ok(lesionMeanHu(patient, 'AP', 0.6, 0.9) > liverHu(patient, 'AP') + 30);
  assert.ok(Math.abs(lesionMeanHu(patient, 'PVP', 0.6, 0.9) - liverHu(patient, 'PVP')) < 12);
});

test('synth haemangioma fills in centripetally', () => {
  const patient = patientWithLargeLesion('hem');
  const centreAp = lesionMeanHu(patient, 'AP', 0, 0.4);
  const centrePvp = lesionMeanHu(patient, 'PVP', 0, 0.4);
  const centreDp = lesionMeanHu(patient, 'DP', 0, 0.4);
  const rimPvp = lesionMeanHu(patient, 'PVP', 0.7, 0.95);
  assert.ok(centreAp < 60, `AP centre ${centreAp}`);
  assert.ok(rimPvp > centrePvp + 40, `PVP rim ${rimPvp} centre ${centrePvp}`);
  assert.ok(centreDp > centreAp + 50, `DP centre ${centreDp} AP centre ${centreAp}`);
  assert.ok(lesionMeanHu(patient, 'DP', 0.2, 0.9) > liverHu(patient, 'DP'));
});

test('synth ICC and MET enhance at the rim', () => {
  const icc = patientWithLargeLesion('icc');
  assert.ok(lesionMeanHu(icc, 'AP', 0.8, 0.98) > lesionMeanHu(icc, 'AP', 0, 0.4) + 20);
  assert.ok(lesionMeanHu(icc, 'DP', 0, 0.4) > lesionMeanHu(icc, 'AP', 0, 0.4) + 25);
  const met = patientWithLargeLesion('met');
  assert.ok(lesionMeanHu(met, 'PVP', 0, 0.9) < liverHu(met, 'PVP') - 20);
  assert.ok(lesionMeanHu(met, 'PVP', 0.8, 0.98) > lesionMeanHu(met, 'PVP', 0, 0.4) + 15);
});

test('synth region render equals slice pixels', () => {
  const patient = samplePatient({ index: 3, datasetSeed: 5, lesionType: 'met', geometry: GEOMETRY });
  const whole = renderSlice(patient, 'PVP', 4);
  const region = renderRegion(patient, 'PVP', 4, { x0: 30, y0: 40, x1: 70, y1: 65 });
  for (let row = 0; row < 25; row++) {
    for (let column = 0; column < 40; column++) {
      assert.equal(region[row * 40 + column], whole[(row + 40) * 128 + column + 30]);
    }
  }
});

test('synth dataset is deterministic per seed', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-synth-'));
  try {
    const options = {
      patients: 6,
      seed: 9,
      size: 96,
      slices: 8,
      outputs: ['crops', 'detection'] as ('crops' | 'detection')[],
    };
    await generateSynthDataset({ ...options, outDir: join(root, 'a') });
    await generateSynthDataset({ ...options, outDir: join(root, 'b') });
    await generateSynthDataset({ ...options, seed: 10, outDir: join(root, 'c') });
    const a = await hashTree(join(root, 'a'));
    const b = await hashTree(join(root, 'b'));
    const c = await hashTree(join(root, 'c'));
    assert.ok(a.size > 20);
    assert.deepEqual(b, a);
    assert.notDeepEqual(c, a);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('synth layouts, CSV files and splits', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-synth-'));
  try {
    const summary = await generateSynthDataset({
      outDir: root,
      patients: 12,
      seed: 3,
      size: 96,
      slices: 8,
      outputs: ['crops', 'detection'],
    });
    assert.equal(summary.patients, 12);
    assert.deepEqual(Object.values(summary.patientsByType), [2, 2, 2, 2, 2, 2]);
    const csv = async (name: string) =>
      (await readFile(join(root, 'crops', name), 'utf8'))
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(','));
    const bmTrain = await csv('BM_train.csv');
    const bmTest = await csv('BM_test.csv');
    assert.equal(bmTrain.length + bmTest.length, 12);
    const trainIds = new Set(bmTrain.map(([id]) => id));
    assert.ok(
      bmTest.every(([id]) => !trainIds.has(id)),
      'a patient is in both splits',
    );
    assert.ok([...bmTrain, ...bmTest].every(([, code]) => code === 'good' || code === 'bad'));
    const malignant = [...(await csv('hcc_icc_met_train.csv')), ...(await csv('hcc_icc_met_test.csv'))];
    const benign = [...(await csv('fnh_hem_cyst_train.csv')), ...(await csv('fnh_hem_cyst_test.csv'))];
    assert.equal(malignant.length, 6);
    assert.equal(benign.length, 6);
    const bmCode = new Map([...bmTrain, ...bmTest].map(([id, code]) => [id, code]));
    for (const [id, code] of malignant) {
      assert.ok(['hcc', 'icc', 'met'].includes(code));
      assert.equal(bmCode.get(id), 'bad');
    }
    for (const [id, code] of benign) {
      assert.ok(['fnh', 'hem', 'cyst'].includes(code));
      assert.equal(bmCode.get(id), 'good');
    }
    for (const [id] of [...bmTrain, ...bmTest]) {
      for (const phase of ['CT', 'AP', 'PVP']) {
        const files = await readdir(join(root, 'crops', id, phase));
        assert.ok(files.length > 0, `${id}/${phase} has no crops`);
        assert.ok(
          files.every((file) => /^IMG-\d{4}-\d{5}_\d+\.png$/.test(file)),
          files.join(' '),
        );
      }
      const truth = JSON.parse(await readFile(join(root, 'cases', id, 'truth.json'), 'utf8'));
      assert.equal(truth.synthetic, true);
      assert.equal(truth.labels.bm, bmCode.get(id));
    }
    const crop = await sharp(
      join(root, 'crops', bmTrain[0][0], 'AP', (await readdir(join(root, 'crops', bmTrain[0][0], 'AP')))[0]),
    ).metadata();
    assert.equal(crop.channels, 1);
    assert.equal(crop.width, crop.height);

    const manifest = (await readFile(join(root, 'detection', 'manifest.csv'), 'utf8')).trim().split('\n');
    assert.equal(
      manifest[0].split(',').slice(0, 8).join(','),
      'image,split,patient,phase,slice,box,lesion,type',
    );
    assert.equal(manifest.length - 1, summary.detectionBoxes);
    let labelLines = 0;
    for (const split of ['train', 'val']) {
      for (const file of await readdir(join(root, 'detection', 'labels', split))) {
        const lines = (await readFile(join(root, 'detection', 'labels', split, file), 'utf8'))
          .split('\n')
          .filter((l) => l !== '');
        for (const line of lines) {
          const [cls, ...rest] = line.split(' ').map(Number);
          assert.equal(cls, 0);
          assert.ok(
            rest.every((v) => v > 0 && v <= 1),
            line,
          );
        }
        labelLines += lines.length;
      }
    }
    assert.equal(labelLines, summary.detectionBoxes);
    const valPatients = new Set(
      manifest
        .slice(1)
        .filter((row) => row.split(',')[1] === 'val')
        .map((row) => row.split(',')[2]),
    );
    assert.ok([...valPatients].every((id) => !trainIds.has(id)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('synth DICOM series read back in HU', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-synth-'));
  try {
    await generateSynthDataset({
      outDir: root,
      patients: 1,
      seed: 4,
      size: 64,
      slices: 6,
      outputs: ['dicom'],
    });
    const ctCase = await readCase(join(root, 'cases', 'SYN0001'));
    assert.deepEqual(ctCase.series.map((s) => s.phase).sort(), ['AP', 'DP', 'NC', 'PVP']);
    const truth = JSON.parse(await readFile(join(root, 'cases', 'SYN0001', 'truth.json'), 'utf8'));
    const pvp = ctCase.series.find((s) => s.phase === 'PVP')!;
    assert.equal(pvp.unit, 'HU');
    assert.deepEqual(pvp.geometry.dimensions, [64, 64, 6]);
    assert.ok(Math.abs(pvp.geometry.spacingMm[0] - 360 / 64) < 1e-3);
    const written = pvp.voxels.subarray(2 * 64 * 64, 3 * 64 * 64);
    const geometry = { size: 64, slices: 6, pixelSpacingMm: 360 / 64, sliceThicknessMm: 160 / 6 };
    const samePatient = samplePatient({ index: 0, datasetSeed: 4, lesionType: truth.lesionType, geometry });
    assert.deepEqual(Array.from(written), Array.from(renderSlice(samePatient, 'PVP', 2)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('lilnet synth --json prints one summary', () => {
  const root = join(tmpdir(), `lilnet-synth-cli-${process.pid}`);
  try {
    const result = spawnSync(
      process.execPath,
      [
        'bin/lilnet.js',
        'synth',
        '--out',
        root,
        '--patients',
        '3',
        '--size',
        '64',
        '--slices',
        '6',
        '--outputs',
        'crops',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.patients, 3);
    assert.match(summary.notice, /synthetic/i);
    assert.match(result.stderr, /not patient data/);
    const bad = spawnSync(process.execPath, ['bin/lilnet.js', 'synth', '--out', root, '--patients', '0'], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /INVALID_ARGUMENT.*patient count/);
  } finally {
    spawnSync('rm', ['-rf', root]);
  }
});

test('synth rejects output under a file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lilnet-synth-out-'));
  try {
    const file = join(root, 'notes.txt');
    await writeFile(file, '');
    await assert.rejects(
      generateSynthDataset({
        outDir: join(file, 'synth'),
        patients: 1,
        slices: 4,
        size: 64,
        outputs: ['dicom'],
        seed: 1,
      }),
      (error: unknown) => {
        assert.ok(isLilnetError(error));
        assert.equal(error.code, 'OUTPUT_FOLDER_FAILED');
        assert.match(error.message, /notes\.txt\/synth: a file is in the way/);
        return true;
      },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
