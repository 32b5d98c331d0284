/**
 * Lesion detection timing: per-slice time and whole-case time of lilnet's detector on ONNX Runtime (CPU), for
 * the network sizes and input sides it can be trained with. Weights are random (timing does not depend on
 * them) unless the bundled models/detector.onnx exists, which is timed too.
 *
 * Run: node --import tsx bench/detect.bench.ts [--slices 180]
 * Input: the 59 slices of the real case `data/real-ct/cases/case-01` from the shared folder, repeated to
 * `--slices` slices for the whole-case time.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Rng } from '../src/data/rng.ts';
import { writeDetectorCheckpoint } from '../src/detect/detector-checkpoint.ts';
import { DEFAULT_DETECTOR_PATH, detectOnSlices, openDetector } from '../src/detect/detector-session.ts';
import { readGreySlice, type GreySlice } from '../src/detect/slice-image.ts';
import { DETECTOR_SIZES } from '../src/detect/train-detector.ts';
import { detectorParameterSpecs, type DetectorConfig } from '../src/nn/detector.ts';
import { orderSliceFiles } from '../src/imaging/slice-images.ts';
import { sharedPath } from '../test/helpers/shared.ts';

const sliceCountArgument = process.argv.indexOf('--slices');
const caseSlices = sliceCountArgument > 0 ? Number(process.argv[sliceCountArgument + 1]) : 180;

function randomCheckpointFile(folder: string, config: DetectorConfig): string {
  const rng = new Rng(1);
  const parameters = detectorParameterSpecs(config).map((spec) => {
    const count = spec.shape.reduce((product, size) => product * size, 1);
    // Conv weights are random. Biases and batch-norm tensors keep their initial constants, so the class bias
    // starts at a 1% score and random weights give few boxes, as a trained detector does.
    const data =
      spec.init.kind === 'constant'
        ? new Float32Array(count).fill(spec.init.value)
        : new Float32Array(count).map(() => rng.normal(0, 0.05));
    return { name: spec.name, shape: [...spec.shape], data };
  });
  const file = join(folder, `${config.inputSize}-${config.headChannels}.ckpt`);
  writeDetectorCheckpoint(file, { config, parameters });
  return file;
}

async function timeModel(label: string, modelPath: string, slices: GreySlice[]): Promise<void> {
  const detector = await openDetector(modelPath);
  await detectOnSlices(detector, slices.slice(0, 8));
  const single: number[] = [];
  for (const slice of slices.slice(0, 20)) {
    const started = performance.now();
    await detectOnSlices(detector, [slice]);
    single.push(performance.now() - started);
  }
  single.sort((a, b) => a - b);
  const volume = Array.from({ length: caseSlices }, (_, index) => slices[index % slices.length]);
  const started = performance.now();
  const boxes = await detectOnSlices(detector, volume);
  const caseMs = performance.now() - started;
  await detector.release();
  console.log(
    `| ${label} | ${detector.inputSize} | ${single[Math.floor(single.length / 2)].toFixed(1)} | ` +
      `${(caseMs / caseSlices).toFixed(1)} | ${(caseMs / 1000).toFixed(2)} | ${boxes.flat().length} |`,
  );
}

const caseFolder = sharedPath('data', 'real-ct', 'cases', 'case-01');
const files = orderSliceFiles(readdirSync(caseFolder).map((name) => join(caseFolder, name)));
const slices = await Promise.all(files.map((file) => readGreySlice(file)));
console.log(
  `detect benchmark: ${slices.length} slices of case-01 (512 x 512), whole case of ${caseSlices} slices, ${availableParallelism()} CPUs`,
);
console.log('| model | input | one slice, median ms | per slice in a case, ms | whole case, s | boxes |');
console.log('| --- | --- | --- | --- | --- | --- |');

const folder = mkdtempSync(join(tmpdir(), 'lilnet-detect-bench-'));
try {
  if (existsSync(DEFAULT_DETECTOR_PATH))
    await timeModel('bundled models/detector.onnx', DEFAULT_DETECTOR_PATH, slices);
  for (const [size, sizeConfig] of Object.entries(DETECTOR_SIZES)) {
    for (const inputSize of [256, 512]) {
      await timeModel(
        `${size}, random weights`,
        randomCheckpointFile(folder, { ...sizeConfig, inputSize }),
        slices,
      );
    }
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
