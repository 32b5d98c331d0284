// Times patient-level evaluation with bootstrap intervals on the largest published per-patient file
// (1,360 patients, benign vs malignant) and on the three-class HCC/ICC/MET file (1,159 patients).
// Usage: node --import tsx bench/eval-bootstrap.bench.ts [resamples] [runs]
import { evaluatePredictions } from '../src/eval/evaluate.ts';
import { readPredictions } from '../src/eval/predictions.ts';
import { sharedPath } from '../test/helpers/shared.ts';

const resamples = Number(process.argv[2] ?? 2000);
const runs = Number(process.argv[3] ?? 5);

for (const file of ['figure2--figure-2b-2e-lilnet.csv', 'figure2--figure-2c-2f-lilnet.csv']) {
  const set = readPredictions(sharedPath('fixtures', 'paper-source-data', file));
  const timesMs: number[] = [];
  for (let run = 0; run <= runs; run += 1) {
    const start = performance.now();
    evaluatePredictions(set, {
      aucScore: 'logits',
      labelSource: 'argmax',
      bootstrap: { resamples, seed: run },
    });
    if (run > 0) timesMs.push(performance.now() - start);
  }
  timesMs.sort((a, b) => a - b);
  const median = timesMs[Math.floor(timesMs.length / 2)];
  console.log(
    `${file}: ${set.patients.length} patients, ${set.task.classes.length} classes, ${resamples} resamples: ` +
      `median ${median.toFixed(0)} ms, min ${timesMs[0].toFixed(0)} ms, max ${timesMs[timesMs.length - 1].toFixed(0)} ms ` +
      `over ${runs} runs after one warm-up`,
  );
}
