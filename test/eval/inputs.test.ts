import { test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { decodeCsvBytes, parseCsv } from '../../src/eval/csv.ts';
import { evaluatePredictions, type EvaluationReport } from '../../src/eval/evaluate.ts';
import { detectFormat, predictionsFromTable, type PredictionSet } from '../../src/eval/predictions.ts';
import { softmax } from '../../src/eval/aggregate.ts';

const read = (text: string, options: Parameters<typeof predictionsFromTable>[1] = {}): PredictionSet =>
  predictionsFromTable(parseCsv(text, 'input.csv'), options);

const PER_IMAGE = [
  'patient,image,phase,logit_0,logit_1,label,cohort',
  'A,IMG-1_0.bmp,AP,2,0,0,north',
  'A,IMG-1_1.bmp,PVP,4,2,0,north',
  'B,IMG-2_0.bmp,AP,0,1,1,south',
  'B,IMG-2_1.bmp,AP,10,0,1,south',
  'B,IMG-2_2.bmp,PVP,0,3,1,south',
].join('\n');

test('format detected from the header', () => {
  assert.equal(detectFormat(['patient', 'logit_0', 'logit_1', 'pred_label', 'label']), 'per-patient');
  assert.equal(detectFormat(['patient', 'image', 'phase', 'logit_0', 'logit_1', 'label']), 'per-image');
});

test('per-image mean of logits then argmax', () => {
  const set = read(PER_IMAGE);
  assert.equal(set.format, 'per-image');
  assert.equal(set.scoreKind, 'logits');
  assert.deepEqual(
    set.patients.map((patient) => patient.patient),
    ['A', 'B'],
  );
  assert.deepEqual(set.patients[0].scores, [3, 1]);
  assert.deepEqual(set.patients[1].scores, [10 / 3, 4 / 3]);
  assert.equal(set.patients[1].imageCount, 3);
  assert.equal(set.patients[0].attributes.phases, 'AP+PVP');
  assert.equal(set.patients[1].attributes.cohort, 'south');
  const report = evaluatePredictions(set, { aucScore: 'logits', labelSource: 'argmax' });
  // Mean logits favour class 0 for B (10/3 > 4/3), so B is wrong.
  assert.deepEqual(report.confusion_matrix, [
    [1, 0],
    [1, 0],
  ]);
});

test('per-image mean of probabilities', () => {
  const set = read(PER_IMAGE, { aggregation: 'mean-probabilities' });
  assert.equal(set.scoreKind, 'probabilities');
  const expected = [softmax([0, 1]), softmax([10, 0]), softmax([0, 3])];
  const mean = [0, 1].map((k) => expected.reduce((sum, row) => sum + row[k], 0) / 3);
  set.patients[1].scores.forEach((value, k) => assert.ok(Math.abs(value - mean[k]) < 1e-15));
  // Averaged probabilities favour class 1 for B, unlike averaged logits.
  const report = evaluatePredictions(set, { aucScore: 'probabilities', labelSource: 'argmax' });
  assert.deepEqual(report.confusion_matrix, [
    [1, 0],
    [0, 1],
  ]);
  assert.throws(
    () => evaluatePredictions(set, { aucScore: 'logits', labelSource: 'argmax' }),
    /needs logits/,
  );
});

test('per-image label must agree per patient', () => {
  const text = 'patient,image,phase,logit_0,logit_1,label\nA,1,AP,1,0,0\nA,2,PVP,1,0,1\n';
  assert.throws(
    () => read(text),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EVAL_VALUE_INVALID');
      assert.match(
        error.message,
        /line 3, column label: patient A has label malignant here but benign on line 2/,
      );
      return true;
    },
  );
});

test('missing columns are named', () => {
  assert.throws(
    () => read('patient,logit_0,logit_1,pred_label\nP1,1,2,1\n'),
    (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'EVAL_COLUMNS_INVALID');
      assert.match(error.message, /no "label" column/);
      assert.match(error.hint ?? '', /patient, logit_0 \.\.\. logit_\{K-1\}/);
      return true;
    },
  );
  assert.throws(() => read('patient,logit_0,logit_2,label\nP1,1,2,1\n'), /column logit_1 is missing/);
  assert.throws(() => read('patient,score,label\nP1,1,1\n'), /found 0 logit_<k> columns/);
  assert.throws(() => read('case,logit_0,logit_1,label\nP1,1,2,1\n'), /no "patient" column/);
});

test('non-numeric value names row and column', () => {
  const text = 'patient,logit_0,logit_1,pred_label,label\nP1,1.5,2,1,1\nP2,abc,2,1,1\n';
  assert.throws(
    () => read(text),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EVAL_VALUE_INVALID');
      assert.equal(error.message, 'input.csv, line 3, column logit_0: "abc" is not a number');
      return true;
    },
  );
  assert.throws(
    () => read('patient,logit_0,logit_1,label\nP1,,2,1\n'),
    /line 2, column logit_0: an empty cell is not a number/,
  );
  assert.throws(() => read('patient,logit_0,logit_1,label\nP1,0x10,2,1\n'), /"0x10" is not a number/);
});

test('invalid class label names row and column', () => {
  const text = 'patient,logit_0,logit_1,logit_2,label\nP1,1,2,3,HCC\nP2,1,2,3,7\n';
  assert.throws(
    () => read(text, { task: 'malignant' }),
    /line 3, column label: "7" is not a class of task malignant/,
  );
  assert.equal(read(text.replace(',7\n', ',met\n'), { task: 'malignant' }).patients[1].label, 2);
});

test('task must match the column count', () => {
  assert.throws(
    () => read('patient,logit_0,logit_1,label\nP1,1,2,1\n', { task: 'benign' }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EVAL_COLUMNS_INVALID');
      assert.match(error.message, /2 score columns, but task "benign" has 3 classes \(FNH, HEM, CYST\)/);
      return true;
    },
  );
  assert.throws(
    () => read('patient,logit_0,logit_1,label\nP1,1,2,1\n', { task: 'lung' }),
    /unknown task "lung"/,
  );
  assert.deepEqual(read('patient,logit_0,logit_1,logit_2,label\nP1,1,2,3,1\n').task.classes, [
    'class 0',
    'class 1',
    'class 2',
  ]);
});

test('non-finite values are warned and left out', () => {
  const text = 'patient,logit_0,logit_1,label\nP1,1,2,1\nP2,NaN,2,0\nP3,3,-inf,0\nP4,0,1,1\n';
  const set = read(text);
  assert.deepEqual(
    set.patients.map((patient) => patient.patient),
    ['P1', 'P4'],
  );
  const warning = set.warnings.find((item) => item.kind === 'non-finite-value');
  assert.deepEqual(warning?.patients, ['P2', 'P3']);
  assert.match(
    warning?.message ?? '',
    /2 patient\(s\) have a non-finite score \(NaN or infinity\) and are left out/,
  );
});

test('duplicate patients are warned', () => {
  const set = read('patient,logit_0,logit_1,label\nP1,1,2,1\nP2,2,1,0\nP1,1,3,1\n');
  assert.equal(set.patients.length, 3);
  const warning = set.warnings.find((item) => item.kind === 'duplicate-patient');
  assert.deepEqual(warning?.patients, ['P1']);
});

test('absent class gives null AUC, no NaN', () => {
  const text = [
    'patient,logit_0,logit_1,logit_2,label',
    'P1,5,1,0,0',
    'P2,4,2,1,0',
    'P3,1,5,0,1',
    'P4,3,4,0,1',
    'P5,0,6,1,1',
  ].join('\n');
  const report: EvaluationReport = evaluatePredictions(read(text, { task: 'malignant' }), {
    aucScore: 'probabilities',
    labelSource: 'argmax',
    bootstrap: { resamples: 50, seed: 1 },
  });
  assert.equal(report.auc_per_class.MET, null);
  assert.equal(report.auc_per_class.HCC, 1);
  assert.equal(report.auc_macro, 1);
  assert.equal(report.youden.MET, null);
  assert.deepEqual(report.roc_curves.MET, []);
  const absent = report.warnings.find((warning) => warning.kind === 'class-absent');
  assert.match(
    absent?.message ?? '',
    /The one-vs-rest AUC of MET is undefined \(null\) because no patient has the label MET/,
  );
  const json = JSON.stringify(report);
  assert.ok(!json.includes('NaN'), json);
  assert.ok(!json.includes('Infinity'), json);
  assert.equal((report.ci95?.auc_per_class as Record<string, unknown>).MET, null);
});

test('recorded labels need a pred_label column', () => {
  const set = read('patient,logit_0,logit_1,label\nP1,1,2,1\nP2,2,1,0\n');
  assert.throws(
    () => evaluatePredictions(set, { aucScore: 'logits', labelSource: 'recorded' }),
    /--label-source recorded needs a pred_label column/,
  );
});

test('recorded labels rejected for per-image input', () => {
  // A pred_label column in a per-image file describes images, so it cannot be a patient's recorded prediction.
  const set = read(
    'patient,image,phase,logit_0,logit_1,pred_label,label\nP1,a,AP,1,2,1,1\nP2,b,AP,2,1,0,0\n',
  );
  assert.throws(
    () => evaluatePredictions(set, { aucScore: 'logits', labelSource: 'recorded' }),
    /--label-source recorded needs per-patient input, but input\.csv is per image/,
  );
});

test('overflowing scores are non-finite', () => {
  // 1e309 is beyond float64 and parses to Infinity, so it must count as a non-finite score.
  const set = read('patient,logit_0,logit_1,label\nP1,1e309,1,1\nP2,2,1,0\nP3,1,3,1\n');
  assert.deepEqual(
    set.patients.map((patient) => patient.patient),
    ['P2', 'P3'],
  );
  assert.equal(set.warnings[0]?.kind, 'non-finite-value');
  assert.deepEqual(set.warnings[0]?.patients, ['P1']);
});

test('mean of large logits stays finite', () => {
  // The sum of two logits of 1e308 overflows although their mean does not.
  const set = read(
    'patient,image,phase,logit_0,logit_1,label\nP1,a,AP,1e308,1,1\nP1,b,PVP,1e308,3,1\nP2,c,AP,2,1,0\n',
  );
  assert.deepEqual(set.patients[0].scores, [1e308, 2]);
  const report = evaluatePredictions(set, { aucScore: 'probabilities', labelSource: 'argmax' });
  assert.equal(report.auc_per_class.benign, report.auc_per_class.malignant);
  assert.ok(!JSON.stringify(report).includes('NaN'));
});

test('CSV quoting, CRLF and BOM', () => {
  const table = parseCsv('\ufeffpatient,logit_0,logit_1,label,note\r\n"P,1",1,2,1,"said ""hi"""\r\n\r\n');
  assert.deepEqual(table.header, ['patient', 'logit_0', 'logit_1', 'label', 'note']);
  assert.deepEqual(table.rows, [['P,1', '1', '2', '1', 'said "hi"']]);
  assert.throws(
    () => parseCsv('a,b\n1,2,3\n', 'x.csv'),
    /x\.csv, line 2: 3 cells, but the header has 2 columns/,
  );
  assert.throws(() => parseCsv('a,b\n"1,2\n', 'x.csv'), /quoted field opened on line 2 is never closed/);
  assert.throws(() => parseCsv('', 'x.csv'), /x\.csv is empty/);
  assert.throws(() => parseCsv('a,a\n1,2\n', 'x.csv'), /column "a" appears twice/);
});

test('GBK bytes are decoded', () => {
  const text = 'patient,logit_0,logit_1,label,医院\nP1,1,2,1,郑州\n';
  const bytes = iconv.encode(text, 'gbk');
  assert.equal(decodeCsvBytes(bytes), text);
  assert.equal(decodeCsvBytes(Buffer.from(text, 'utf8')), text);
});

test('UTF-16 with byte order mark is decoded', () => {
  // Excel's "Unicode text" export writes UTF-16 little-endian with a byte order mark.
  const text = 'patient,logit_0,logit_1,label,医院\nP1,1,2,1,郑州\n';
  const littleEndian = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  assert.equal(decodeCsvBytes(littleEndian), text);
  const bigEndian = Buffer.from(littleEndian).swap16();
  assert.equal(decodeCsvBytes(bigEndian), text);
});

test('semicolon or tab separator is named', () => {
  assert.throws(
    () => parseCsv('patient;logit_0;logit_1;label\nP1;1;2;1\n', 'x.csv'),
    /x\.csv: the header row has one column and contains ";", but cells must be separated by commas/,
  );
  assert.throws(
    () => parseCsv('patient\tlogit_0\tlogit_1\tlabel\nP1\t1\t2\t1\n', 'x.csv'),
    /x\.csv: the header row has one column and contains a tab, but cells must be separated by commas/,
  );
});

const SMALL_BINARY = [
  'patient,logit_0,logit_1,label',
  'P1,3,1,0',
  'P2,1,2,1',
  'P3,0,4,1',
  'P4,1,5,1',
  'P5,2,3,1',
].join('\n');

test('bootstrap warns about undefined resamples', () => {
  // One benign patient among five: about a third of the resamples contain no benign patient.
  const report = evaluatePredictions(read(SMALL_BINARY), {
    aucScore: 'logits',
    labelSource: 'argmax',
    bootstrap: { resamples: 200, seed: 2 },
  });
  const warning = report.warnings.find((item) => item.kind === 'bootstrap-undefined');
  assert.match(warning?.message ?? '', /undefined in part of the 200 bootstrap resamples/);
  assert.match(warning?.message ?? '', /auc_per_class\.benign in \d+/);
  const interval = (report.ci95?.auc_per_class as Record<string, [number, number] | null>).benign;
  assert.ok(interval !== null, 'benign AUC interval from the defined resamples');
});

test('never-predicted class is warned', () => {
  const text = 'patient,logit_0,logit_1,label\nP1,0,1,0\nP2,0,2,1\nP3,0,3,1\n';
  const report = evaluatePredictions(read(text), { aucScore: 'probabilities', labelSource: 'argmax' });
  assert.equal(report.precision_per_class.benign, 0);
  assert.equal(report.npv, null);
  assert.equal(report.specificity, 0);
  const warning = report.warnings.find((item) => item.kind === 'class-never-predicted');
  assert.match(warning?.message ?? '', /No patient is predicted benign/);
});

test('reader table errors name the line', async () => {
  const { compareReaders } = await import('../../src/eval/readers.ts');
  const set = read(SMALL_BINARY);
  const options = { aucScore: 'logits', labelSource: 'argmax' } as const;
  const compare = (text: string): unknown => compareReaders(parseCsv(text, 'readers.csv'), set, options);
  assert.throws(() => compare('patient,answer\nP1,0\n'), /readers\.csv: no "reader" column/);
  assert.throws(
    () => compare('patient,reader,answer\nP1,r1,0\nP2,r1,maybe\n'),
    /readers\.csv, line 3, column answer: "maybe" is not a class of task bm/,
  );
  assert.throws(
    () => compare('patient,reader,answer\nP1,r1,0\nP1,r1,1\n'),
    /line 3: reader r1 answers patient P1 again \(first on line 2\)/,
  );
  assert.throws(() => compare('patient,reader,answer\nP1,,0\n'), /line 2: the reader cell is empty/);
  assert.throws(
    () => compare('patient,reader,answer\nX9,r1,0\n'),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EVAL_INPUTS_MISMATCHED');
      return true;
    },
  );
});

test('reader comparison on shared patients', async () => {
  const { compareReaders } = await import('../../src/eval/readers.ts');
  const set = read(SMALL_BINARY);
  const text = 'patient,reader,answer\nP1,r1,benign\nP2,r1,malignant\nP3,r1,benign\nX9,r1,benign\nP4,r2,1\n';
  const result = compareReaders(parseCsv(text, 'readers.csv'), set, {
    aucScore: 'logits',
    labelSource: 'argmax',
  });
  assert.deepEqual(
    result.readers.map((reader) => [reader.reader, reader.patients]),
    [
      ['r1', 3],
      ['r2', 1],
    ],
  );
  const r1 = result.readers[0];
  assert.equal(r1.accuracy, 2 / 3);
  assert.equal(r1.ai_accuracy, 1);
  assert.equal(r1.mcnemar.method, 'exact-binomial');
  assert.equal(r1.mcnemar.only_a_correct, 1);
  assert.equal(r1.mcnemar.only_b_correct, 0);
  assert.equal(r1.mcnemar.p_value, 1);
  assert.deepEqual(r1.confusion_matrix, [
    [1, 0],
    [1, 1],
  ]);
  assert.deepEqual(
    result.warnings.map((warning) => warning.patients),
    [['X9']],
  );
});

test('compare warns about unpaired patients', async () => {
  const { comparePredictions } = await import('../../src/eval/compare.ts');
  const other = read('patient,logit_0,logit_1,label\nP1,2,1,0\nP2,1,2,1\nP3,1,2,1\nP4,3,1,1\nP9,0,1,1\n');
  const report = comparePredictions(read(SMALL_BINARY), other, { aucScore: 'logits', labelSource: 'argmax' });
  assert.equal(report.patients, 4);
  const warning = report.warnings.find((item) => item.kind === 'patients-unpaired');
  assert.deepEqual(warning?.patients, ['P5', 'P9']);
  // One benign patient: DeLong needs two on each side, so it is null with a warning.
  assert.equal(report.delong.benign, null);
  assert.equal(report.delong.malignant, null);
});

test('compare warns about undefined resamples', async () => {
  const { comparePredictions } = await import('../../src/eval/compare.ts');
  const { compareUnpaired } = await import('../../src/eval/compare-unpaired.ts');
  // One benign patient among five: resamples without it leave the macro AUC undefined.
  const set = read(SMALL_BINARY);
  const options = {
    aucScore: 'logits',
    labelSource: 'argmax',
    bootstrap: { resamples: 200, seed: 1 },
  } as const;
  for (const report of [comparePredictions(set, set, options), compareUnpaired(set, set, options)]) {
    const warning = report.warnings.find((item) => item.kind === 'bootstrap-undefined');
    assert.ok(warning, report.design);
    assert.match(warning.message, /auc_macro_difference in \d+/);
    assert.doesNotMatch(warning.message, /accuracy_difference/);
  }
});

test('compare rejects repeated patients', async () => {
  const { comparePredictions } = await import('../../src/eval/compare.ts');
  // A repeated identifier cannot be paired: one file's row would be reused or dropped.
  const single = read(SMALL_BINARY);
  const repeated = read(`${SMALL_BINARY}\nP2,5,1,1\n`);
  const options = { aucScore: 'logits', labelSource: 'argmax' } as const;
  for (const [a, b] of [
    [repeated, single],
    [single, repeated],
  ]) {
    assert.throws(
      () => comparePredictions(a, b, options),
      /patient P2 appears on lines 3 and 7 of input\.csv, so it cannot be paired/,
    );
  }
});

test('readers reject repeated prediction rows', async () => {
  const { compareReaders } = await import('../../src/eval/readers.ts');
  // With two prediction rows for P2, the AI side of the reader comparison used whichever came last.
  const repeated = read(`${SMALL_BINARY}\nP2,5,1,1\n`);
  const answers = parseCsv('patient,reader,answer\nP1,r1,0\nP2,r1,1\n', 'readers.csv');
  assert.throws(
    () => compareReaders(answers, repeated, { aucScore: 'logits', labelSource: 'argmax' }),
    /patient P2 appears on lines 3 and 7 of input\.csv/,
  );
});

test('strata reject a column varying within a patient', async () => {
  const { evaluateStrata } = await import('../../src/eval/strata.ts');
  const text =
    'patient,image,phase,logit_0,logit_1,label,slice\nA,1,AP,2,0,0,10\nA,2,PVP,4,2,0,11\nB,3,AP,0,1,1,5\n';
  const set = read(text);
  assert.deepEqual(set.varyingAttributes, ['slice']);
  assert.equal(set.patients[0].attributes.slice, undefined);
  assert.throws(
    () => evaluateStrata(set, 'slice', { aucScore: 'logits', labelSource: 'argmax' }),
    /column slice differs between the images of one patient/,
  );
});

test('class names given for other tasks', () => {
  const text = 'patient,logit_0,logit_1,logit_2,logit_3,label\nP1,1,2,3,4,cyst\nP2,4,3,2,1,0\n';
  const classNames = ['HCC', 'ICC', 'FNH', 'CYST'];
  const set = read(text, { classNames });
  assert.deepEqual(set.task.classes, classNames);
  assert.deepEqual(
    set.patients.map((patient) => patient.label),
    [3, 0],
  );
  assert.throws(
    () => read(text, { classNames: ['HCC', 'ICC', 'FNH'] }),
    /4 score columns, but --classes names 3/,
  );
  assert.throws(
    () => read(text, { classNames: ['HCC', 'hcc', 'FNH', 'CYST'] }),
    /has an empty or repeated name/,
  );
  assert.throws(
    () => read(text, { classNames, task: 'malignant' }),
    /--task malignant and --classes both name/,
  );
});

test('numeric class names must match their index', () => {
  // Label cells that are whole numbers are read as column indices, so a class named "1" in column 0 would
  // silently take the patients of column 1.
  const text = 'patient,logit_0,logit_1,label\nP1,1,2,1\nP2,2,1,2\n';
  assert.throws(
    () => read(text, { classNames: ['1', '2'] }),
    /--classes "1,2": class name "1" is a whole number but names column 0/,
  );
  assert.throws(
    () => read(text, { classNames: ['1', '0'] }),
    /class name "1" is a whole number but names column 0/,
  );
  assert.deepEqual(read(text.replace(',2\n', ',0\n'), { classNames: ['0', '1'] }).task.classes, ['0', '1']);
  assert.deepEqual(read(text.replace(',2\n', ',0\n'), { classNames: ['grade-1', 'grade-2'] }).task.classes, [
    'grade-1',
    'grade-2',
  ]);
});

test('GBK predictions file stratified by centre', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readPredictions } = await import('../../src/eval/predictions.ts');
  const { evaluateStrata } = await import('../../src/eval/strata.ts');
  const directory = mkdtempSync(join(tmpdir(), 'lilnet-eval-gbk-'));
  try {
    const text = [
      'patient,logit_0,logit_1,label,中心',
      'P1,3,1,0,河南',
      'P2,1,3,1,河南',
      'P3,2,1,1,成都',
      'P4,0,2,1,成都',
      'P5,4,0,0,成都',
    ].join('\r\n');
    const path = join(directory, 'predictions-gbk.csv');
    writeFileSync(path, iconv.encode(text, 'gbk'));
    const set = readPredictions(path);
    assert.equal(set.patients[0].attributes['中心'], '河南');
    const strata = evaluateStrata(set, '中心', { aucScore: 'logits', labelSource: 'argmax' });
    assert.deepEqual(
      strata.groups.map((group) => [group.value, group.patients, group.accuracy]),
      [
        ['成都', 3, 2 / 3],
        ['河南', 2, 1],
      ],
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
