// Times reading a large per-image predictions table: CSV parsing, validation and the per-patient mean of the
// logits. The table is synthetic (made here, with a seeded generator): 8,000 patients x 25 images x 3 classes.
// Usage: node --import tsx bench/eval-per-image.bench.ts [patients] [imagesPerPatient]
import { parseCsv } from '../src/eval/csv.ts';
import { predictionsFromTable } from '../src/eval/predictions.ts';
import { SeededRandom } from '../src/eval/random.ts';

const patients = Number(process.argv[2] ?? 8000);
const imagesPerPatient = Number(process.argv[3] ?? 25);

const random = new SeededRandom(1);
const logit = (): string => ((random.nextUint32() / 0x100000000) * 8 - 4).toFixed(6);
const lines = ['patient,image,phase,logit_0,logit_1,logit_2,label'];
for (let patient = 0; patient < patients; patient += 1) {
  const label = random.nextInt(3);
  for (let image = 0; image < imagesPerPatient; image += 1) {
    const phase = image % 2 === 0 ? 'AP' : 'PVP';
    lines.push(
      `P${patient},IMG-${patient}-${image}_0.bmp,${phase},${logit()},${logit()},${logit()},${label}`,
    );
  }
}
const text = lines.join('\n');

const start = performance.now();
const table = parseCsv(text, 'synthetic.csv');
const parsedMs = performance.now() - start;
const set = predictionsFromTable(table, { task: 'malignant' });
const totalMs = performance.now() - start;
console.log(
  `${table.rows.length} image rows (${(text.length / 1e6).toFixed(1)} MB), ${set.patients.length} patients: ` +
    `parse ${parsedMs.toFixed(0)} ms, validate and aggregate ${(totalMs - parsedMs).toFixed(0)} ms, ` +
    `heap used ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
);
