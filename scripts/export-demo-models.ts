/**
 * Exports the classifiers of `scripts/train-default-models.sh` into `models/` for the diagnosis: each run's
 * best checkpoint becomes `<slot>.onnx` with the `cam` output, and `models/models.json` lists every bundled
 * model with `demo: true`. A run whose best held-out phantom AUC is not above chance (0.5), or whose ONNX file
 * would exceed 8 MB, is not exported, and the script exits with status 1.
 *
 * Usage: node --import tsx scripts/export-demo-models.ts <runs dir> <models dir> <training command>
 * where <runs dir> contains the run folders `bm`, `malignant` and `benign` of `lilnet train`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportDiagnosisClassifier } from '../src/diagnose/model-conversion.ts';
import type { ModelRole } from '../src/diagnose/report-types.ts';
import { openClassifierModel } from '../src/nn/classifier-model.ts';

const MAX_MODEL_BYTES = 8 * 1024 * 1024;
const RUNS: { run: string; role: Exclude<ModelRole, 'detector'>; classes: string[] }[] = [
  { run: 'bm', role: 'benign-malignant', classes: ['benign', 'malignant'] },
  { run: 'malignant', role: 'malignant-subtype', classes: ['HCC', 'ICC', 'MET'] },
  { run: 'benign', role: 'benign-subtype', classes: ['FNH', 'HEM', 'CYST'] },
];

const [runsDir, modelsDir, trainingCommand] = process.argv.slice(2);
if (!runsDir || !modelsDir || !trainingCommand) {
  console.error(
    'usage: node --import tsx scripts/export-demo-models.ts <runs dir> <models dir> <training command>',
  );
  process.exit(2);
}

interface EpochMetrics {
  epoch: number;
  valAccuracy: number;
  valAuc: number | null;
  valPatients: number;
}

const manifest: { demo: boolean; trainedOn: string; models: Record<string, unknown> } = {
  demo: true,
  trainedOn: `synthetic phantoms of lilnet synth, trained by: ${trainingCommand}`,
  models: {},
};
if (existsSync(join(modelsDir, 'detector.onnx'))) {
  manifest.models.detector = {
    file: 'detector.onnx',
    architecture: 'lilnet detector (YOLOv8 output convention)',
  };
}

let failed = false;
for (const { run, role, classes } of RUNS) {
  const runDir = join(runsDir, run);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as {
    inputSizePx: number;
    trunk: { baseWidth: number };
  };
  const history = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as EpochMetrics);
  const model = await openClassifierModel(join(runDir, 'best.ckpt'));
  if (model.format === 'onnx') throw new Error(`${runDir}/best.ckpt is not a checkpoint`);
  // The figures quoted are those of the epoch the best checkpoint was saved at.
  const best = history.find((entry) => entry.epoch === model.meta.epoch);
  if (!best)
    throw new Error(
      `${runDir}/metrics.jsonl has no epoch ${String(model.meta.epoch)}, the epoch of best.ckpt`,
    );
  const summary = `${role}: best epoch ${best.epoch}, held-out phantom patients ${best.valPatients}, AUC ${best.valAuc?.toFixed(3)}, accuracy ${(100 * best.valAccuracy).toFixed(1)}%`;
  if (best.valAuc === null || best.valAuc <= 0.5) {
    console.error(`not exported, no better than chance: ${summary}`);
    failed = true;
    continue;
  }
  const { bytes } = exportDiagnosisClassifier(model.stateDict, join(runDir, 'best.ckpt'), config.inputSizePx);
  if (bytes.byteLength > MAX_MODEL_BYTES) {
    console.error(`not exported, ${bytes.byteLength} bytes is over 8 MB: ${summary}`);
    failed = true;
    continue;
  }
  writeFileSync(join(modelsDir, `${role}.onnx`), bytes);
  manifest.models[role] = {
    file: `${role}.onnx`,
    architecture: `LiLNet, ResNet-50 layout at base width ${config.trunk.baseWidth}, input ${config.inputSizePx} px`,
    classes,
    heldOut: { patients: best.valPatients, auc: best.valAuc, accuracy: best.valAccuracy, epoch: best.epoch },
  };
  console.log(`exported ${role}.onnx (${(bytes.byteLength / 1e6).toFixed(1)} MB): ${summary}`);
}
writeFileSync(join(modelsDir, 'models.json'), `${JSON.stringify(manifest, null, 2)}\n`);
process.exit(failed ? 1 : 0);
