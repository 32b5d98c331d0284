/**
 * Benchmark of `diagnoseCase` on a 60-slice, 512 x 512 phantom DICOM case, diagnosed with the default phases
 * (AP, PVP) and with three phases (NC, AP, PVP): time per stage, total, and peak resident memory. The phantom case is generated once with `lilnet synth` into
 * `$LILNET_BENCH_DIR` (default: the system temporary folder) and reused by later runs.
 *
 * The detector and classifiers are the bundled models, or those of `--models <dir>`; a slot without a bundled
 * model gets an untrained model of the demo architecture, which has the same cost per slice and crop.
 * Because the number of crops depends on what the detector finds, the classification of the phantom's true
 * lesion boxes is timed as well, so the figure does not hinge on the detector.
 *
 * It prints wall time per stage and the CPU time of the whole call (user plus system, all threads), which varies
 * less than wall time when other processes share the cores.
 *
 * Run: node --import tsx bench/diagnose.bench.ts [--models <dir>]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthDataset } from '../src/data/synth/generate.ts';
import { classifyCrops, listCrops } from '../src/diagnose/classify-stage.ts';
import {
  CLASSIFIER_INPUT_SIZE_PX,
  CROP_MARGIN_FRACTION,
  CROP_MIN_SIDE_PX,
  CROP_WINDOW,
} from '../src/diagnose/crop.ts';
import { diagnoseCase } from '../src/diagnose/diagnose-case.ts';
import { loadModels } from '../src/diagnose/load-models.ts';
import { matchAcrossPhases, type PhaseTrack } from '../src/diagnose/match-phases.ts';
import { BUNDLED_MODELS_DIR } from '../src/diagnose/models-folder.ts';
import { readCase } from '../src/imaging/read-case.ts';
import { writeUntrainedModels } from '../test/diagnose/helpers/untrained-models.ts';

/** The case has four phases (synth writes NC, AP, PVP, DP); the benchmark diagnoses the default AP and PVP, then these three. */
const PHASES = ['NC', 'AP', 'PVP'];
const SLICES = 60;
const SIZE_PX = 512;

const benchDir = join(process.env.LILNET_BENCH_DIR ?? tmpdir(), 'lilnet-bench-diagnose');
const modelsArgument = process.argv.indexOf('--models');
let modelsDir = modelsArgument >= 0 ? process.argv[modelsArgument + 1] : undefined;

async function phantomCase(): Promise<string> {
  const casesDir = join(benchDir, 'synth', 'cases');
  if (!existsSync(casesDir)) {
    const started = performance.now();
    console.log(`generating the phantom case in ${benchDir} (once) ...`);
    await generateSynthDataset({
      outDir: join(benchDir, 'synth'),
      patients: 1,
      slices: SLICES,
      size: SIZE_PX,
      outputs: ['dicom'],
      seed: 5,
      types: ['hcc'],
    });
    console.log(`  generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return join(casesDir, readdirSync(casesDir)[0]);
}

const caseDir = await phantomCase();
if (!modelsDir) {
  // Slots without a bundled model get untrained models of the same architecture, which cost the same per
  // slice and crop. The printed model list names the ones used.
  const bundledClassifiers = existsSync(join(BUNDLED_MODELS_DIR, 'benign-malignant.onnx'));
  const bundledDetector = existsSync(join(BUNDLED_MODELS_DIR, 'detector.onnx'));
  if (!bundledClassifiers || !bundledDetector) {
    modelsDir = join(benchDir, bundledClassifiers ? 'untrained-detector' : 'untrained-models');
    if (!existsSync(modelsDir)) {
      mkdirSync(modelsDir, { recursive: true });
      writeUntrainedModels(modelsDir, bundledClassifiers ? { classifiers: [] } : {});
    }
    console.log(`untrained stand-ins for the missing bundled models are in ${modelsDir}`);
  }
}

/** Diagnoses the phantom case with the given phases (default AP and PVP when undefined) and prints the figures. */
async function runDiagnosis(phases: string[] | undefined): Promise<void> {
  const outDir = join(benchDir, 'report');
  rmSync(outDir, { recursive: true, force: true });
  const cpuBefore = process.cpuUsage();
  const report = await diagnoseCase(caseDir, { outDir, modelsDir, phases });
  const cpu = process.cpuUsage(cpuBefore);
  const crops = report.lesions.reduce(
    (sum, lesion) => sum + lesion.phases.reduce((s, p) => s + p.cropCount, 0),
    0,
  );

  console.log(
    `\ndiagnoseCase of the ${SLICES}-slice ${SIZE_PX} x ${SIZE_PX} case, phases ${report.case.phasesUsed.join(', ')}:`,
  );
  console.log(`  models: ${report.models.map((m) => `${m.role}=${m.file}`).join(', ')}`);
  console.log(`  lesions found: ${report.lesions.length}, crops classified: ${crops}`);
  for (const [stage, ms] of Object.entries(report.timingsMs))
    console.log(`  ${stage.padEnd(12)} ${(ms / 1000).toFixed(2)} s`);
  // CPU time (user plus system, all threads) varies less than wall time when other processes share the cores.
  console.log(`  CPU time     ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
}

await runDiagnosis(undefined);
await runDiagnosis(PHASES);

// Classification of the phantom's true boxes, whatever the detector found.
const ctCase = await readCase(caseDir);
const truth = JSON.parse(readFileSync(join(caseDir, 'truth.json'), 'utf8')) as {
  lesions: { boxes: Record<string, { slice: number; x0: number; y0: number; x1: number; y1: number }[]> }[];
};
const tracks: PhaseTrack[][] = PHASES.map((phase) => {
  const series = ctCase.series.find((s) => s.phase === phase)!;
  return truth.lesions.map((lesion) => ({
    series,
    boxes: lesion.boxes[phase].map((b) => ({
      sliceIndex: b.slice,
      confidence: 1,
      box: { x1: b.x0, y1: b.y0, x2: b.x1, y2: b.y1 },
    })),
  }));
});
const models = await loadModels(modelsDir);
const truthCrops = listCrops(matchAcrossPhases(tracks), {
  marginFraction: CROP_MARGIN_FRACTION,
  minSidePx: CROP_MIN_SIDE_PX,
  inputSizePx: CLASSIFIER_INPUT_SIZE_PX,
  window: CROP_WINDOW,
});
const started = performance.now();
await classifyCrops(truthCrops, models.classifiers, CROP_WINDOW);
const classifyMs = performance.now() - started;
console.log(
  `\nclassification of the ${truthCrops.length} true lesion boxes (3 classifiers): ${(classifyMs / 1000).toFixed(2)} s`,
);
console.log(`peak resident memory: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
