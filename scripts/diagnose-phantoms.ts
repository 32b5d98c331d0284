/**
 * Runs `diagnoseCase` on every phantom case of a `lilnet synth` output and scores it against `truth.json`:
 *
 * - detection, per lesion: a reported lesion finds a true lesion when one of its boxes has IoU of at least 0.3
 *   with a true box of the same phase and slice (the IoU at which the LiLNet study reports detection);
 *   recall = true lesions found / true lesions, precision = reported lesions that find one / reported lesions;
 * - classification, per patient: the patient's branch against the benign/malignant truth and the patient's
 *   call against the lesion type (each phantom patient has lesions of one type).
 *
 * Usage: node --import tsx scripts/diagnose-phantoms.ts <synth out>/cases [--models <dir>] [--out <dir>] [--json]
 */
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boxIou } from '../src/detect/box.ts';
import { diagnoseCase } from '../src/diagnose/diagnose-case.ts';

interface TruthBox {
  slice: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface Truth {
  lesionType: string;
  labels: { bm: 'good' | 'bad' };
  lesions: { type: string; boxes: Record<string, TruthBox[]> }[];
}

const args = process.argv.slice(2);
const casesDir = args[0];
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
if (!casesDir || !existsSync(casesDir)) {
  console.error('usage: node --import tsx scripts/diagnose-phantoms.ts <synth out>/cases [--models <dir>] [--out <dir>] [--json]');
  process.exit(2);
}
const outRoot = option('--out') ?? mkdtempSync(join(tmpdir(), 'lilnet-phantom-reports-'));
const modelsDir = option('--models');
const IOU_THRESHOLD = 0.3;

let trueLesions = 0;
let trueFound = 0;
let reported = 0;
let reportedMatched = 0;
let patients = 0;
let branchCorrect = 0;
let callCorrect = 0;
const rows: Record<string, unknown>[] = [];

for (const name of readdirSync(casesDir).sort()) {
  const caseDir = join(casesDir, name);
  if (!existsSync(join(caseDir, 'truth.json'))) continue;
  const truth = JSON.parse(readFileSync(join(caseDir, 'truth.json'), 'utf8')) as Truth;
  const report = await diagnoseCase(caseDir, { outDir: join(outRoot, name), modelsDir });

  const found = new Set<number>();
  let matchedHere = 0;
  for (const lesion of report.lesions) {
    let matched = false;
    for (const phase of lesion.phases) {
      for (const box of phase.boxes) {
        truth.lesions.forEach((trueLesion, index) => {
          for (const t of trueLesion.boxes[phase.phase] ?? []) {
            if (t.slice !== box.sliceIndex) continue;
            if (boxIou(box.box, { x1: t.x0, y1: t.y0, x2: t.x1, y2: t.y1 }) >= IOU_THRESHOLD) {
              matched = true;
              found.add(index);
            }
          }
        });
      }
    }
    if (matched) matchedHere++;
  }
  trueLesions += truth.lesions.length;
  trueFound += found.size;
  reported += report.lesions.length;
  reportedMatched += matchedHere;

  const expectedBranch = truth.labels.bm === 'bad' ? 'malignant' : 'benign';
  const branch = report.patient?.branch ?? null;
  const call = report.patient?.call ?? null;
  patients++;
  if (branch === expectedBranch) branchCorrect++;
  if (call === truth.lesionType.toUpperCase()) callCorrect++;
  rows.push({ case: name, type: truth.lesionType, trueLesions: truth.lesions.length, found: found.size, reported: report.lesions.length, branch, call, totalMs: report.timingsMs.total });
  if (!args.includes('--json')) {
    console.log(`${name}: ${truth.lesionType}, lesions ${found.size}/${truth.lesions.length} found, ${report.lesions.length} reported; patient ${branch ?? '-'} / ${call ?? '-'}`);
  }
}

const summary = {
  cases: patients,
  detection: {
    iouThreshold: IOU_THRESHOLD,
    recall: trueLesions ? trueFound / trueLesions : null,
    precision: reported ? reportedMatched / reported : null,
    trueLesions,
    reportedLesions: reported,
  },
  classification: { benignMalignantAccuracy: branchCorrect / patients, sixClassAccuracy: callCorrect / patients },
  reports: outRoot,
  rows,
};
if (args.includes('--json')) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const pct = (value: number | null): string => (value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`);
  console.log(`\n${patients} phantom cases, reports in ${outRoot}`);
  console.log(`detection at IoU ${IOU_THRESHOLD}: recall ${pct(summary.detection.recall)} (${trueFound}/${trueLesions}), precision ${pct(summary.detection.precision)} (${reportedMatched}/${reported})`);
  console.log(`patient benign/malignant accuracy ${pct(summary.classification.benignMalignantAccuracy)}, six-class accuracy ${pct(summary.classification.sixClassAccuracy)}`);
}
