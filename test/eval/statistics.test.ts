import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delongTest, midranks } from '../../src/eval/delong.ts';
import { mcnemarTest } from '../../src/eval/mcnemar.ts';
import { readPredictions } from '../../src/eval/predictions.ts';
import { binomialHalfCdf, chiSquare1Survival, erfc, normalCdf } from '../../src/eval/special.ts';
import { sharedPath } from '../helpers/shared.ts';
import { runPythonOracle } from './oracle.ts';

interface DelongOracle {
  auc_a: number;
  auc_b: number;
  var_a: number;
  var_b: number;
  cov: number;
  se: number;
  z: number | null;
  p: number;
}

// Hanley and McNeil, Radiology 143:29-36 (1982), Table 1: CT images of 109 patients rated on a five-point
// scale (1 definitely normal ... 5 definitely abnormal). 58 truly normal: 33, 6, 6, 11, 2 per rating;
// 51 truly abnormal: 3, 2, 2, 11, 33. The paper reports an area of 0.893 with a standard error of 0.032.
function hanleyMcNeilRatings(): { ratings: number[]; abnormal: boolean[] } {
  const normalCounts = [33, 6, 6, 11, 2];
  const abnormalCounts = [3, 2, 2, 11, 33];
  const ratings: number[] = [];
  const abnormal: boolean[] = [];
  normalCounts.forEach((count, index) => {
    for (let i = 0; i < count; i += 1) {
      ratings.push(index + 1);
      abnormal.push(false);
    }
  });
  abnormalCounts.forEach((count, index) => {
    for (let i = 0; i < count; i += 1) {
      ratings.push(index + 1);
      abnormal.push(true);
    }
  });
  return { ratings, abnormal };
}

function close(actual: number, expected: number, tolerance: number, description: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${description}: ${actual} vs expected ${expected}`);
}

test('erfc and normal CDF match known values', () => {
  // Reference values printed by scipy.special.erfc, scipy.stats.norm.ppf and scipy.stats.chi2.ppf (scipy 1.10).
  close(erfc(0), 1, 1e-15, 'erfc(0)');
  close(erfc(0.5), 0.4795001221869535, 1e-15, 'erfc(0.5)');
  close(erfc(1), 0.15729920705028513, 1e-15, 'erfc(1)');
  close(erfc(2), 0.004677734981047266, 1e-17, 'erfc(2)');
  close(erfc(3) / 2.209049699858544e-5, 1, 1e-12, 'erfc(3) relative');
  close(erfc(-1), 1.8427007929497148, 1e-15, 'erfc(-1)');
  close(normalCdf(1.959963984540054), 0.975, 1e-15, 'normal CDF at the 97.5% quantile');
  close(chiSquare1Survival(3.841458820694124), 0.05, 1e-14, 'chi-square(1) 95% quantile');
  close(binomialHalfCdf(2, 10), 56 / 1024, 1e-16, 'Binomial(10, 1/2) P(X <= 2)');
});

test('midranks share tied ranks', () => {
  assert.deepEqual(Array.from(midranks([3, 1, 3, 2, 3])), [4, 1, 4, 2, 4]);
});

test('DeLong reproduces the Hanley-McNeil worked example', () => {
  const { ratings, abnormal } = hanleyMcNeilRatings();
  // A second, weaker reader on the same cases: every rating above 1 lowered by one step.
  const weaker = ratings.map((rating) => Math.max(1, rating - 1));
  const result = delongTest(ratings, weaker, abnormal);
  assert.equal(result.positives, 51);
  assert.equal(result.negatives, 58);
  assert.equal(result.aucA.toFixed(3), '0.893');
  // DeLong's standard error is not the Hanley-McNeil exponential approximation (0.032), but it agrees to 0.005.
  close(Math.sqrt(result.varianceA), 0.032, 0.005, 'standard error of the area');

  const [oracle] = runPythonOracle<{ delong: DelongOracle[] }>('stats_oracle.py', {
    delong: [{ positive: abnormal, a: ratings, b: weaker }],
  }).delong;
  close(result.aucA, oracle.auc_a, 1e-12, 'AUC A');
  close(result.aucB, oracle.auc_b, 1e-12, 'AUC B');
  close(result.varianceA, oracle.var_a, 1e-12, 'variance A');
  close(result.varianceB, oracle.var_b, 1e-12, 'variance B');
  close(result.covariance, oracle.cov, 1e-12, 'covariance');
  close(result.z as number, oracle.z as number, 1e-9, 'z');
  close(result.pValue, oracle.p, 1e-12, 'p-value');
});

test('DeLong LiLNet vs ResNet-50 matches the oracle', () => {
  const lilnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2d-2g-lilnet.csv'),
  );
  const resnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2d-2g-resnet50.csv'),
  );
  const cases = [0, 1, 2].map((k) => ({
    positive: lilnet.patients.map((patient) => patient.label === k),
    a: lilnet.patients.map((patient) => patient.scores[k]),
    b: resnet.patients.map((patient) => patient.scores[k]),
  }));
  const oracle = runPythonOracle<{ delong: DelongOracle[] }>('stats_oracle.py', { delong: cases }).delong;
  cases.forEach((item, k) => {
    const result = delongTest(item.a, item.b, item.positive);
    close(result.aucA, oracle[k].auc_a, 1e-12, `class ${k} AUC A`);
    close(result.aucB, oracle[k].auc_b, 1e-12, `class ${k} AUC B`);
    close(result.standardError, oracle[k].se, 1e-12, `class ${k} standard error`);
    close(result.z as number, oracle[k].z as number, 1e-9, `class ${k} z`);
    close(result.pValue, oracle[k].p, 1e-12, `class ${k} p-value`);
  });
});

test('DeLong of identical scores has p 1', () => {
  const scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2];
  const positive = [false, false, true, true, true, false];
  const result = delongTest(scores, scores, positive);
  assert.equal(result.difference, 0);
  assert.equal(result.z, null);
  assert.equal(result.pValue, 1);
});

test('DeLong rejects a single positive', () => {
  assert.throws(() => delongTest([1, 2, 3], [1, 2, 3], [true, false, false]), {
    code: 'EVAL_INPUTS_MISMATCHED',
  });
});

function flags(counts: {
  both: number;
  onlyA: number;
  onlyB: number;
  neither: number;
}): [boolean[], boolean[]] {
  const a: boolean[] = [];
  const b: boolean[] = [];
  const push = (count: number, valueA: boolean, valueB: boolean): void => {
    for (let i = 0; i < count; i += 1) {
      a.push(valueA);
      b.push(valueB);
    }
  };
  push(counts.both, true, true);
  push(counts.onlyA, true, false);
  push(counts.onlyB, false, true);
  push(counts.neither, false, false);
  return [a, b];
}

test('McNemar matches scipy in both regimes', () => {
  const tables = [
    { both: 50, onlyA: 7, onlyB: 2, neither: 10 },
    { both: 50, onlyA: 0, onlyB: 0, neither: 3 },
    { both: 20, onlyA: 12, onlyB: 12, neither: 1 },
    { both: 900, onlyA: 40, onlyB: 18, neither: 60 },
    { both: 300, onlyA: 13, onlyB: 12, neither: 5 },
  ];
  const oracle = runPythonOracle<{ mcnemar: { method: string; p: number; statistic: number | null }[] }>(
    'stats_oracle.py',
    {
      mcnemar: tables.map((table) => ({ b: table.onlyA, c: table.onlyB })),
    },
  ).mcnemar;
  tables.forEach((table, index) => {
    const result = mcnemarTest(...flags(table));
    assert.equal(result.method, oracle[index].method, `table ${index} method`);
    assert.equal(result.onlyACorrect, table.onlyA);
    assert.equal(result.onlyBCorrect, table.onlyB);
    close(result.pValue, oracle[index].p, 1e-12, `table ${index} p-value`);
    if (oracle[index].statistic !== null)
      close(result.statistic as number, oracle[index].statistic as number, 1e-12, `table ${index} statistic`);
  });
});

interface MacroOracle {
  auc_a: number;
  auc_b: number;
  var_a: number;
  se: number;
  p: number;
  var_a_two_class?: number;
}

test('macro DeLong matches the pairwise oracle', async () => {
  const { delongMacroTest } = await import('../../src/eval/delong-macro.ts');
  const cases = [
    ['figure2--figure-2d-2g-lilnet.csv', 'figure2--figure-2d-2g-resnet50.csv'],
    // Every 5th benign/malignant patient, to keep the O(N^2) Python oracle fast.
    ['figure2--figure-2b-2e-lilnet.csv', 'figure2--figure-2b-2e-resnet50-pretrained.csv'],
  ].map(([fileA, fileB]) => {
    const a = readPredictions(sharedPath('fixtures', 'paper-source-data', fileA)).patients.filter(
      (_, index) => fileA.includes('2d') || index % 5 === 0,
    );
    const b = readPredictions(sharedPath('fixtures', 'paper-source-data', fileB)).patients.filter(
      (_, index) => fileA.includes('2d') || index % 5 === 0,
    );
    return {
      labels: a.map((patient) => patient.label),
      a: a.map((patient) => patient.scores),
      b: b.map((patient) => patient.scores),
      classes: a[0].scores.length,
    };
  });
  const oracle = runPythonOracle<{ delong_macro: MacroOracle[] }>('stats_oracle.py', {
    delong_macro: cases,
  }).delong_macro;
  cases.forEach((item, index) => {
    const result = delongMacroTest(item.a, item.b, item.labels, item.classes);
    close(result.aucMacroA, oracle[index].auc_a, 1e-12, `case ${index} macro AUC A`);
    close(result.aucMacroB, oracle[index].auc_b, 1e-12, `case ${index} macro AUC B`);
    close(result.varianceA, oracle[index].var_a, 1e-14, `case ${index} variance A`);
    close(result.standardError, oracle[index].se, 1e-12, `case ${index} standard error`);
    close(result.pValue, oracle[index].p, 1e-12, `case ${index} p-value`);
    if (oracle[index].var_a_two_class !== undefined) {
      // Two classes: the same variance as DeLong's covariance matrix of the two column AUCs.
      close(
        result.varianceA,
        oracle[index].var_a_two_class as number,
        1e-14,
        `case ${index} two-class DeLong variance`,
      );
    }
  });
});

test('macro DeLong of one class equals DeLong', async () => {
  const { delongMacroTest } = await import('../../src/eval/delong-macro.ts');
  const lilnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2b-2e-lilnet.csv'),
  );
  const resnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2b-2e-resnet50.csv'),
  );
  const labels = lilnet.patients.map((patient) => patient.label);
  // Both columns carry the logit difference (sign flipped for class 0), so the two column AUCs and their placement
  // values coincide and the macro test reduces to DeLong's test on one column.
  const difference = (scores: number[]): number[] => [scores[0] - scores[1], scores[1] - scores[0]];
  const macro = delongMacroTest(
    lilnet.patients.map((p) => difference(p.scores)),
    resnet.patients.map((p) => difference(p.scores)),
    labels,
    2,
  );
  const single = delongTest(
    lilnet.patients.map((p) => p.scores[1] - p.scores[0]),
    resnet.patients.map((p) => p.scores[1] - p.scores[0]),
    labels.map((label) => label === 1),
  );
  close(macro.difference, single.difference, 1e-12, 'difference');
  close(macro.standardError, single.standardError, 1e-12, 'standard error');
  close(macro.pValue, single.pValue, 1e-12, 'p-value');
});

test('unpaired comparison matches the oracles', async () => {
  const { compareUnpaired, twoProportionTest } = await import('../../src/eval/compare-unpaired.ts');
  const tables = [
    { xa: 1028, na: 1159, xb: 956, nb: 1159 },
    { xa: 132, na: 149, xb: 122, nb: 149 },
    { xa: 9, na: 12, xb: 3, nb: 10 },
  ];
  const lilnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2d-2g-lilnet.csv'),
  );
  const resnet = readPredictions(
    sharedPath('fixtures', 'paper-source-data', 'figure2--figure-2d-2g-resnet50.csv'),
  );
  const delongCases = [0, 1, 2].map((k) => ({
    positive: lilnet.patients.map((patient) => patient.label === k),
    a: lilnet.patients.map((patient) => patient.scores[k]),
    b: resnet.patients.map((patient) => patient.scores[k]),
  }));
  const oracle = runPythonOracle<{ two_proportion: { p: number }[]; delong: DelongOracle[] }>(
    'stats_oracle.py',
    {
      two_proportion: tables,
      delong: delongCases,
    },
  );
  tables.forEach((table, index) => {
    const result = twoProportionTest(table.xa, table.na, table.xb, table.nb);
    close(result.p_value, oracle.two_proportion[index].p, 1e-12, `table ${index} p-value`);
  });

  const report = compareUnpaired(lilnet, resnet, { aucScore: 'logits', labelSource: 'argmax' });
  assert.equal(report.design, 'unpaired');
  assert.deepEqual(report.classes, ['class 0', 'class 1', 'class 2']);
  report.classes.forEach((name, k) => {
    const test = report.delong[name];
    assert.ok(test !== null, `${name} test`);
    const expected = Math.sqrt(oracle.delong[k].var_a + oracle.delong[k].var_b);
    close(test.standard_error, expected, 1e-12, `${name} independent standard error`);
  });
});
