/**
 * Runs `diagnoseCase` on every phantom case of a `lilnet synth` output and scores it against `truth.json`:
 *
 * - detection, per lesion: a reported lesion finds a true lesion when one of its boxes has IoU of at least 0.3
 *   with a true box of the same phase and slice (the IoU at which the LiLNet study reports detection);
 *   recall = true lesions found / true lesions, precision = reported lesions that find one / reported lesions;
 * - classification, per patient: the patient's branch against the benign/malignant truth and the patient's
 *   call against the lesion type (each phantom patient has lesions of one type).
 *
 * With `--truth-boxes`, the detector is skipped: the true AP and PVP boxes are cropped and classified, which
 * measures the classifiers alone.
 *
 * Usage: node --import tsx scripts/diagnose-phantoms.ts <synth out>/cases [--models <dir>] [--out <dir>]
 *        [--truth-boxes] [--json]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boxIou } from '../src/detect/box.ts';
import { classifyCrops, listCrops } from '../src/diagnose/classify-stage.ts';
import {
  CLASSIFIER_INPUT_SIZE_PX,
  CROP_MARGIN_FRACTION,
  CROP_MIN_SIDE_PX,
  CROP_WINDOW,
} from '../src/diagnose/crop.ts';
import { diagnoseCase } from '../src/diagnose/diagnose-case.ts';
import { buildLesionReports, patientClassification } from '../src/diagnose/lesion-reports.ts';
import { loadClassifiers } from '../src/diagnose/load-models.ts';
import { matchAcrossPhases, type PhaseTrack } from '../src/diagnose/match-phases.ts';
import type { Classification } from '../src/diagnose/report-types.ts';
import { readCase } from '../src/imaging/read-case.ts';

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
const option = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
if (!casesDir || !existsSync(casesDir)) {
  console.error(
    'usage: node --import tsx scripts/diagnose-phantoms.ts <synth out>/cases [--models <dir>] [--out <dir>] [--json]',
  );
  process.exit(2);
}
const outRoot = option('--out') ?? mkdtempSync(join(tmpdir(), 'lilnet-phantom-reports-'));
const modelsDir = option('--models');
const IOU_THRESHOLD = 0.3;

const truthBoxesOnly = args.includes('--truth-boxes');
const models = truthBoxesOnly ? await loadClassifiers(modelsDir) : null;

/** Classifies the true AP and PVP boxes of a case, bypassing the detector. */
async function classifyTruthBoxes(
  caseDir: string,
  truth: Truth,
  outDir: string,
): Promise<Classification | null> {
  const ctCase = await readCase(caseDir);
  const tracks: PhaseTrack[][] = ['AP', 'PVP'].map((phase) => {
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
  const matched = matchAcrossPhases(tracks);
  const crops = listCrops(matched, {
    marginFraction: CROP_MARGIN_FRACTION,
    minSidePx: CROP_MIN_SIDE_PX,
    inputSizePx: CLASSIFIER_INPUT_SIZE_PX,
    window: CROP_WINDOW,
  });
  const outputs = await classifyCrops(crops, models!.classifiers, CROP_WINDOW);
  mkdirSync(join(outDir, 'overlays'), { recursive: true });
  const { perLesionLogits } = await buildLesionReports({
    lesions: matched,
    outputs,
    outDir,
    window: CROP_WINDOW,
  });
  return patientClassification(perLesionLogits);
}

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
  if (truthBoxesOnly) {
    const patient = await classifyTruthBoxes(caseDir, truth, join(outRoot, name));
    const expected = truth.labels.bm === 'bad' ? 'malignant' : 'benign';
    patients++;
    if (patient?.branch === expected) branchCorrect++;
    if (patient?.call === truth.lesionType.toUpperCase()) callCorrect++;
    rows.push({
      case: name,
      type: truth.lesionType,
      branch: patient?.branch ?? null,
      call: patient?.call ?? null,
      pMalignant: patient?.pMalignant ?? null,
    });
    if (!args.includes('--json'))
      console.log(
        `${name}: ${truth.lesionType}, true boxes classified ${patient?.branch ?? '-'} / ${patient?.call ?? '-'}, P(malignant) ${patient?.pMalignant.toFixed(3)}`,
      );
    continue;
  }
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
  rows.push({
    case: name,
    type: truth.lesionType,
    trueLesions: truth.lesions.length,
    found: found.size,
    reported: report.lesions.length,
    branch,
    call,
    totalMs: report.timingsMs.total,
  });
  if (!args.includes('--json')) {
    console.log(
      `${name}: ${truth.lesionType}, lesions ${found.size}/${truth.lesions.length} found, ${report.lesions.length} reported; patient ${branch ?? '-'} / ${call ?? '-'}`,
    );
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
  classification: {
    benignMalignantAccuracy: branchCorrect / patients,
    sixClassAccuracy: callCorrect / patients,
  },
  reports: outRoot,
  rows,
};
if (args.includes('--json')) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const pct = (value: number | null): string => (value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`);
  console.log(`\n${patients} phantom cases, reports in ${outRoot}`);
  if (!truthBoxesOnly)
    console.log(
      `detection at IoU ${IOU_THRESHOLD}: recall ${pct(summary.detection.recall)} (${trueFound}/${trueLesions}), precision ${pct(summary.detection.precision)} (${reportedMatched}/${reported})`,
    );
  console.log(
    `patient benign/malignant accuracy ${pct(summary.classification.benignMalignantAccuracy)}, six-class accuracy ${pct(summary.classification.sixClassAccuracy)}`,
  );
}
