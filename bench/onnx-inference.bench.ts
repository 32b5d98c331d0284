/**
 * Inference throughput of LiLNet against a plain ResNet-50, both exported by lilnet to ONNX and run on
 * onnxruntime-node (CPU), per 224 x 224 crop. LiLNet adds the masked layer-3 and layer-4 heads and the
 * self-distillation head to the same trunk; the target is LiLNet at 0.85x or more of ResNet-50's images/s.
 *
 * Weights are drawn from the models' initialisation (speed does not depend on their values); K = 3. The two
 * models run in alternating rounds so that load from other processes affects both alike; the median time per
 * batch of each model over all rounds is reported.
 *
 * Usage: node --import tsx bench/onnx-inference.bench.ts [batch=8] [rounds=3] [threads=0 (ONNX Runtime chooses)]
 */
import { availableParallelism } from 'node:os';
import { exportLilnetOnnx, exportResnetClassifierOnnx } from '../src/backends/onnx/export-model.ts';
import type { ParameterSource } from '../src/backends/onnx/export.ts';
import { OnnxInferenceSession } from '../src/backends/onnx/session.ts';
import { createRandom, initialValues } from '../src/nn/init.ts';
import { lilnetConfig, lilnetSpecs } from '../src/nn/lilnet.ts';
import type { ParameterSpec } from '../src/nn/ops.ts';
import { resnetClassifierConfig, resnetClassifierSpecs } from '../src/nn/resnet50.ts';

const batch = Number(process.argv[2] ?? 8);
const rounds = Number(process.argv[3] ?? 3);
const threads = Number(process.argv[4] ?? 0);
const ITERATIONS_PER_ROUND = 2;

function initialisedParameters(specs: ParameterSpec[]): ParameterSource {
  const random = createRandom(1);
  const values = new Map(
    specs.map((spec) => [spec.name, { data: initialValues(spec, random), shape: spec.shape }]),
  );
  return (name) => values.get(name)!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const lilnetBytes = exportLilnetOnnx(lilnetConfig(3), {
  parameters: initialisedParameters(lilnetSpecs(lilnetConfig(3))),
}).bytes;
const resnetBytes = exportResnetClassifierOnnx(resnetClassifierConfig(3), {
  parameters: initialisedParameters(resnetClassifierSpecs(resnetClassifierConfig(3))),
}).bytes;

const models = [
  {
    name: 'LiLNet (all five outputs)',
    session: await OnnxInferenceSession.create(lilnetBytes, { intraOpThreads: threads }),
    times: [] as number[],
  },
  {
    name: 'ResNet-50',
    session: await OnnxInferenceSession.create(resnetBytes, { intraOpThreads: threads }),
    times: [] as number[],
  },
];

const images = new Float32Array(batch * 3 * 224 * 224);
const random = createRandom(2);
for (let i = 0; i < images.length; i++) images[i] = random() * 2 - 1;
const input = { images: { data: images, shape: [batch, 3, 224, 224] } };

for (const model of models) await model.session.run(input); // warm-up: memory arenas, kernel selection
for (let round = 0; round < rounds; round++) {
  for (const model of models) {
    for (let i = 0; i < ITERATIONS_PER_ROUND; i++) {
      const start = performance.now();
      await model.session.run(input);
      model.times.push(performance.now() - start);
    }
  }
}

console.log(
  `ONNX Runtime CPU inference, batch ${batch}, ${rounds * ITERATIONS_PER_ROUND} timed runs per model, ` +
    `intra-op threads ${threads === 0 ? 'auto' : threads}, ${availableParallelism()} CPUs`,
);
const throughput = models.map((model) => {
  const batchMs = median(model.times);
  const imagesPerSecond = (batch * 1000) / batchMs;
  console.log(
    `${model.name.padEnd(26)} ${batchMs.toFixed(0).padStart(7)} ms/batch  ${(batchMs / batch).toFixed(1).padStart(7)} ms/crop  ${imagesPerSecond.toFixed(2).padStart(7)} crops/s`,
  );
  return imagesPerSecond;
});
const ratio = throughput[0] / throughput[1];
console.log(
  `LiLNet / ResNet-50 throughput: ${ratio.toFixed(3)} (target >= 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'})`,
);
for (const model of models) await model.session.release();
