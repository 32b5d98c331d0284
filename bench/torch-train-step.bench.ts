/**
 * Times the LiLNet training step on the libtorch addon against the same step in PyTorch, in one run. A step is
 * the forward in training mode, the LiLNet loss, backward and an SGD update (momentum 0.9, weight decay 1e-4)
 * on random 224 x 224 inputs. Both sides use the same batch size and thread count.
 *
 * Run: node --import tsx bench/torch-train-step.bench.ts [--batch 4] [--threads 2] [--steps 3] [--width 64]
 *      [--rounds 2]
 * The PyTorch side runs scripts/oracle/lilnet_torch.py with Debian's /usr/bin/python3 (python3-torch).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ParameterStore,
  Sgd,
  getNumThreads,
  lilnetTrainingStep,
  setNumThreads,
  torchVersion,
} from '../src/backends/torch/index.ts';
import { createRandom } from '../src/nn/init.ts';
import { lilnetConfig, lilnetSpecs } from '../src/nn/lilnet.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    width: { type: 'string', default: '64' },
    size: { type: 'string', default: '224' },
    rounds: { type: 'string', default: '2' },
  },
});
const batch = Number(values.batch);
const threads = Number(values.threads);
const warmup = Number(values.warmup);
const steps = Number(values.steps);
const width = Number(values.width);
const size = Number(values.size);
const rounds = Number(values.rounds);
const classes = 3;

function measureAddon(): number {
  setNumThreads(threads);
  const config = lilnetConfig(classes, { baseWidth: width, blocksPerStage: [3, 4, 6, 3] });
  const store = ParameterStore.initialise(lilnetSpecs(config), 0);
  const sgd = new Sgd(store.trainableParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const random = createRandom(1);
  const images = Float32Array.from({ length: batch * 3 * size * size }, () => random() * 2 - 1);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % classes);
  const shape = [batch, 3, size, size];
  try {
    for (let i = 0; i < warmup; i++) lilnetTrainingStep(store, sgd, config, images, shape, labels);
    const start = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) lilnetTrainingStep(store, sgd, config, images, shape, labels);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return (batch * steps) / seconds;
  } finally {
    sgd.dispose();
    store.dispose();
  }
}

function measurePytorch(): { imagesPerSecond: number; version: string } {
  const script = fileURLToPath(new URL('../scripts/oracle/lilnet_torch.py', import.meta.url));
  const args = [
    'bench',
    '--batch',
    `${batch}`,
    '--threads',
    `${threads}`,
    '--warmup',
    `${warmup}`,
    '--steps',
    `${steps}`,
  ];
  args.push('--width', `${width}`, '--size', `${size}`, '--classes', `${classes}`);
  const result = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`PyTorch benchmark failed: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { images_per_second: number; torch: string };
  return { imagesPerSecond: parsed.images_per_second, version: parsed.torch };
}

// The two sides alternate, and the best round of each counts, so that load from other processes during one
// round does not decide the ratio.
const addonRates: number[] = [];
const pytorchRates: number[] = [];
let pytorchVersion = '';
for (let round = 0; round < rounds; round++) {
  addonRates.push(measureAddon());
  const pytorch = measurePytorch();
  pytorchRates.push(pytorch.imagesPerSecond);
  pytorchVersion = pytorch.version;
}
const addon = Math.max(...addonRates);
const pytorch = Math.max(...pytorchRates);
const format = (rates: number[]): string => rates.map((r) => r.toFixed(2)).join(', ');
console.log(
  `LiLNet training step, batch ${batch}, ${size}x${size}, base width ${width}, ${getNumThreads()} threads`,
);
console.log(
  `  addon (libtorch ${torchVersion()}): best ${addon.toFixed(2)} images/s (rounds: ${format(addonRates)})`,
);
console.log(
  `  PyTorch ${pytorchVersion}: best ${pytorch.toFixed(2)} images/s (rounds: ${format(pytorchRates)})`,
);
console.log(`  ratio addon / PyTorch: ${(addon / pytorch).toFixed(2)}x (target >= 0.9x)`);
