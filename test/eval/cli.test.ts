import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { UnpairedComparisonReport } from '../../src/eval/compare-unpaired.ts';
import type { ComparisonReport } from '../../src/eval/compare.ts';
import type { EvaluationReport } from '../../src/eval/evaluate.ts';
import type { ReaderComparison } from '../../src/eval/readers.ts';
import type { StrataReport } from '../../src/eval/strata.ts';
import { sharedPath } from '../helpers/shared.ts';
import { runLilnet, runLilnetJson } from './cli-run.ts';

const fixture = (name: string): string => sharedPath('fixtures', 'paper-source-data', name);
const workDir = mkdtempSync(join(tmpdir(), 'lilnet-eval-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

/**
 * Writes the FNH/HEM/CYST LiLNet outputs with two made-up stratum columns (cohort, lesion_size_mm) and a
 * made-up reader table: reader "junior" errs on every 5th patient, reader "senior" on every 11th.
 */
function writeAnnotatedInputs(): { predictions: string; readers: string } {
  const [header, ...rows] = readFileSync(fixture('figure2--figure-2d-2g-lilnet.csv'), 'utf8')
    .trimEnd()
    .split('\n');
  const annotated = rows.map(
    (row, index) => `${row},${index % 3 === 0 ? 'Henan' : 'Chengdu'},${5 + ((index * 7) % 60)}`,
  );
  const predictions = join(workDir, 'annotated.csv');
  writeFileSync(predictions, [`${header},cohort,lesion_size_mm`, ...annotated].join('\n'));
  const readerRows = ['patient,reader,answer'];
  rows.forEach((row, index) => {
    const [patient, , , , , label] = row.split(',');
    const wrong = (Number(label) + 1) % 3;
    readerRows.push(`${patient},junior,${index % 5 === 0 ? wrong : label}`);
    readerRows.push(`${patient},senior,${index % 11 === 0 ? wrong : label}`);
  });
  const readers = join(workDir, 'readers.csv');
  writeFileSync(readers, readerRows.join('\n'));
  return { predictions, readers };
}

test('eval --json prints the issue fields', () => {
  const result = runLilnet([
    'eval',
    fixture('figure2--figure-2c-2f-resnet.csv'),
    '--task',
    'malignant',
    '--bootstrap',
    '100',
    '--json',
  ]);
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as EvaluationReport;
  for (const field of [
    'patients',
    'accuracy',
    'auc_macro',
    'auc_per_class',
    'recall_macro',
    'recall_weighted',
    'precision_macro',
    'precision_weighted',
    'f1_macro',
    'f1_weighted',
    'confusion_matrix',
    'warnings',
    'ci95',
  ]) {
    assert.ok(field in report, `missing field ${field}`);
  }
  assert.deepEqual(Object.keys(report.auc_per_class), ['HCC', 'ICC', 'MET']);
  for (const field of [
    'accuracy',
    'auc_macro',
    'recall_macro',
    'recall_weighted',
    'precision_macro',
    'precision_weighted',
    'f1_macro',
    'f1_weighted',
  ]) {
    const interval = report.ci95?.[field] as [number, number];
    assert.equal(interval.length, 2, `ci95.${field}`);
  }
  assert.equal(report.auc_score, 'probabilities');
});

test('compare LiLNet vs ResNet-50 runs DeLong and McNemar', () => {
  const report = runLilnetJson<ComparisonReport>([
    'compare',
    fixture('figure2--figure-2b-2e-lilnet.csv'),
    fixture('figure2--figure-2b-2e-resnet50.csv'),
    '--auc-score',
    'logits',
    '--bootstrap',
    '200',
  ]);
  assert.equal(report.patients, 1360);
  const malignant = report.delong.malignant;
  assert.ok(malignant !== null);
  assert.equal(malignant.auc_a.toFixed(4), '0.9728');
  assert.equal(malignant.auc_b.toFixed(4), '0.9529');
  assert.ok(malignant.p_value < 0.001, `p ${malignant.p_value}`);
  assert.equal(report.delong_macro?.auc_a.toFixed(4), '0.9716');
  assert.ok((report.delong_macro?.p_value as number) < 0.01, `macro p ${report.delong_macro?.p_value}`);
  assert.equal(report.mcnemar.method, 'chi-square-continuity-corrected');
  assert.equal(report.mcnemar.accuracy_a.toFixed(3), '0.947');
  assert.equal(report.mcnemar.accuracy_b.toFixed(3), '0.911');
  assert.equal(report.mcnemar.only_a_correct, 69);
  assert.equal(report.mcnemar.only_b_correct, 20);
  const difference = report.bootstrap?.auc_macro_difference;
  const estimate = difference?.estimate as number;
  const interval = difference?.ci95 as [number, number];
  assert.ok(interval[0] < estimate, `lower bound ${interval[0]} vs ${estimate}`);
  assert.ok(estimate < interval[1], `upper bound ${interval[1]} vs ${estimate}`);
});

test('compare rejects different labels', () => {
  const other = join(workDir, 'relabelled.csv');
  const text = readFileSync(fixture('figure2--figure-2d-2g-resnet50.csv'), 'utf8').replace(
    'P0001,-0.9183473,-1.8785632,-2.035292,0,0',
    'P0001,-0.9183473,-1.8785632,-2.035292,0,1',
  );
  writeFileSync(other, text);
  const result = runLilnet([
    'compare',
    fixture('figure2--figure-2d-2g-lilnet.csv'),
    other,
    '--task',
    'benign',
  ]);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /\[EVAL_INPUTS_MISMATCHED\] 1 of 149 patients have different labels in the two files; the first is patient P0001: FNH in .* \(line 2\) but HEM in .* \(line 2\)/,
  );
});

test('eval reports strata and readers', () => {
  const inputs = writeAnnotatedInputs();
  const byCohort = runLilnetJson<EvaluationReport & { strata: StrataReport }>([
    'eval',
    inputs.predictions,
    '--task',
    'benign',
    '--strata',
    'cohort',
  ]);
  assert.deepEqual(
    byCohort.strata.groups.map((group) => [group.value, group.patients]),
    [
      ['Chengdu', 99],
      ['Henan', 50],
    ],
  );
  const bySize = runLilnetJson<EvaluationReport & { strata: StrataReport; readers: ReaderComparison }>([
    'eval',
    inputs.predictions,
    '--task',
    'benign',
    '--strata',
    'size_band',
    '--readers',
    inputs.readers,
    '--bootstrap',
    '100',
  ]);
  assert.deepEqual(
    bySize.strata.groups.map((group) => group.value),
    ['< 1 cm', '1-3 cm', '3-5 cm', '>= 5 cm'],
  );
  assert.equal(
    bySize.strata.groups.reduce((sum, group) => sum + group.patients, 0),
    149,
  );
  const [junior, senior] = bySize.readers.readers;
  assert.equal(junior.reader, 'junior');
  assert.equal(junior.patients, 149);
  assert.equal(junior.accuracy, 119 / 149);
  assert.equal(senior.accuracy, 135 / 149);
  assert.equal(junior.ai_accuracy, bySize.accuracy);
  const juniorInterval = junior.ci95?.accuracy as [number, number];
  assert.ok(juniorInterval[0] < junior.accuracy, `lower bound ${juniorInterval[0]}`);
  assert.ok(junior.accuracy < juniorInterval[1], `upper bound ${juniorInterval[1]}`);
  assert.ok(['exact-binomial', 'chi-square-continuity-corrected'].includes(junior.mcnemar.method));
});

test('eval rejects an unknown stratum column', () => {
  const result = runLilnet(['eval', fixture('figure2--figure-2d-2g-lilnet.csv'), '--strata', 'centre']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[EVAL_COLUMNS_INVALID\] .* has no column "centre" to stratify by/);
});

test('eval --plots writes readable SVG and PNG', async () => {
  const directory = join(workDir, 'plots');
  const result = runLilnet([
    'eval',
    fixture('figure2--figure-2b-2e-lilnet.csv'),
    '--auc-score',
    'logits',
    '--plots',
    directory,
  ]);
  assert.equal(result.status, 0, result.stderr);
  const roc = readFileSync(join(directory, 'roc.svg'), 'utf8');
  assert.match(roc, /ROC curves, one class vs rest: benign vs malignant/);
  assert.match(roc, /malignant vs rest \(AUC 0\.973\)/);
  assert.match(roc, /Macro average \(mean AUC 0\.972\)/);
  assert.match(roc, /False-positive rate \(1 - specificity\)/);
  const confusion = readFileSync(join(directory, 'confusion-matrix.svg'), 'utf8');
  assert.match(confusion, />1176</);
  for (const name of ['roc.png', 'confusion-matrix.png']) {
    const metadata = await sharp(join(directory, name)).metadata();
    assert.equal(metadata.format, 'png');
    assert.ok((metadata.width ?? 0) >= 1000, `${name} width ${metadata.width}`);
  }
  assert.match(result.stdout, /plots: .*roc\.svg/);
});

test('eval reports a missing file', () => {
  const result = runLilnet(['eval', join(workDir, 'absent.csv')]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[FILE_NOT_FOUND\] cannot read .*absent\.csv/);
  assert.equal(result.stdout, '');
});

test('eval rejects invalid options', () => {
  const bootstrap = runLilnet(['eval', fixture('figure2--figure-2d-2g-lilnet.csv'), '--bootstrap', 'many']);
  assert.equal(bootstrap.status, 1);
  assert.match(bootstrap.stderr, /--bootstrap "many" is not a whole number/);
  const score = runLilnet(['eval', fixture('figure2--figure-2d-2g-lilnet.csv'), '--auc-score', 'ranks']);
  assert.match(score.stderr, /--auc-score "ranks" is not valid\n {2}hint: use one of logits, probabilities/);
});

test('compare refuses unpaired HCC/ICC/MET sheets', async () => {
  // The published LiLNet and ResNet-50 sheets of this task list the patients in different row orders, so their
  // row-number identifiers do not pair the same patients: 284 of 1,159 labels disagree.
  const { comparePredictions } = await import('../../src/eval/compare.ts');
  const { readPredictions } = await import('../../src/eval/predictions.ts');
  const lilnet = readPredictions(fixture('figure2--figure-2c-2f-lilnet.csv'), { task: 'malignant' });
  const resnet = readPredictions(fixture('figure2--figure-2c-2f-resnet.csv'), { task: 'malignant' });
  assert.throws(
    () => comparePredictions(lilnet, resnet, { aucScore: 'logits', labelSource: 'argmax' }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EVAL_INPUTS_MISMATCHED');
      assert.match(error.message, /^284 of 1159 patients have different labels/);
      return true;
    },
  );
});

/**
 * Writes the benign/malignant LiLNet outputs as per-image rows: two images per patient whose logits are the
 * patient's logits plus and minus 0.5, so that their mean is exactly the published patient row. Every fourth
 * patient has two arterial images, the others one arterial and one portal-venous image.
 */
function writePerImageCopy(): string {
  const [, ...rows] = readFileSync(fixture('figure2--figure-2b-2e-lilnet.csv'), 'utf8').trimEnd().split('\n');
  const lines = ['patient,image,phase,logit_0,logit_1,label'];
  rows.forEach((row, index) => {
    const [patient, logit0, logit1, , label] = row.split(',');
    const secondPhase = index % 4 === 0 ? 'AP' : 'PVP';
    lines.push(
      `${patient},IMG-${index}-00001_0.bmp,AP,${Number(logit0) + 0.5},${Number(logit1) - 0.5},${label}`,
    );
    lines.push(
      `${patient},IMG-${index}-00002_0.bmp,${secondPhase},${Number(logit0) - 0.5},${Number(logit1) + 0.5},${label}`,
    );
  });
  const path = join(workDir, 'per-image.csv');
  writeFileSync(path, lines.join('\n'));
  return path;
}

test('per-image input matches the per-patient file', () => {
  const perImage = writePerImageCopy();
  const fromImages = runLilnetJson<EvaluationReport & { strata: StrataReport }>([
    'eval',
    perImage,
    '--auc-score',
    'logits',
    '--strata',
    'phases',
  ]);
  const fromPatients = runLilnetJson<EvaluationReport>([
    'eval',
    fixture('figure2--figure-2b-2e-lilnet.csv'),
    '--auc-score',
    'logits',
  ]);
  assert.equal(fromImages.format, 'per-image');
  assert.equal(fromImages.aggregation, 'mean-logits');
  assert.equal(fromImages.patients, 1360);
  assert.equal(fromImages.accuracy, fromPatients.accuracy);
  assert.deepEqual(fromImages.auc_per_class, fromPatients.auc_per_class);
  assert.deepEqual(fromImages.confusion_matrix, fromPatients.confusion_matrix);
  assert.deepEqual(
    fromImages.strata.groups.map((group) => [group.value, group.patients]),
    [
      ['AP', 340],
      ['AP+PVP', 1020],
    ],
  );
});

test('ROC plot marks two-class readers', async () => {
  const { readPredictions } = await import('../../src/eval/predictions.ts');
  const { evaluatePredictions } = await import('../../src/eval/evaluate.ts');
  const { compareReaders } = await import('../../src/eval/readers.ts');
  const { parseCsv } = await import('../../src/eval/csv.ts');
  const { writeEvaluationPlots } = await import('../../src/eval/report-plots.ts');
  const binary = readPredictions(fixture('figure2--figure-2b-2e-lilnet.csv'));
  // A made-up reader who calls every patient malignant except every 6th benign patient, which is called benign.
  const rows = binary.patients.map(
    (patient, index) =>
      `${patient.patient},resident,${patient.label === 0 && index % 6 === 0 ? 'benign' : 'malignant'}`,
  );
  const options = { aucScore: 'logits', labelSource: 'argmax' } as const;
  const readers = compareReaders(
    parseCsv(['patient,reader,answer', ...rows].join('\n'), 'readers.csv'),
    binary,
    options,
  );
  const resident = readers.readers[0];
  assert.equal(resident.sensitivity, 1);
  assert.ok((resident.specificity as number) > 0, `specificity ${resident.specificity}`);
  const directory = join(workDir, 'reader-plots');
  await writeEvaluationPlots(evaluatePredictions(binary, options), directory, readers);
  const svg = readFileSync(join(directory, 'roc.svg'), 'utf8');
  assert.match(svg, /<circle /);
  assert.match(svg, />resident</);
  assert.match(svg, />Readers \(sensitivity for malignant\)</);
});

test('eval reports an unwritable plots folder', () => {
  const blocker = join(workDir, 'not-a-folder');
  writeFileSync(blocker, 'a file where the plots folder should be');
  const result = runLilnet([
    'eval',
    fixture('figure2--figure-2d-2g-lilnet.csv'),
    '--plots',
    join(blocker, 'plots'),
  ]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[EVAL_OUTPUT_FAILED\] cannot write the roc plot into .*not-a-folder\/plots/);
});

test('compare --unpaired handles the HCC/ICC/MET sheets', () => {
  const report = runLilnetJson<UnpairedComparisonReport>([
    'compare',
    fixture('figure2--figure-2c-2f-lilnet.csv'),
    fixture('figure2--figure-2c-2f-resnet.csv'),
    '--task',
    'malignant',
    '--auc-score',
    'logits',
    '--label-source',
    'recorded',
    '--unpaired',
  ]);
  assert.equal(report.design, 'unpaired');
  assert.equal(report.patients_a, 1159);
  assert.equal(report.patients_b, 1159);
  assert.equal(report.a.auc_macro?.toFixed(3), '0.956');
  assert.equal(report.accuracy_test.correct_a, 1028);
  assert.equal(report.accuracy_test.correct_b, 956);
  assert.ok(report.delong_macro !== null);
  assert.ok(report.delong_macro.p_value < 0.05, `macro p ${report.delong_macro.p_value}`);
  assert.ok(report.warnings.some((warning) => warning.kind === 'recorded-prediction-mismatch'));
});
