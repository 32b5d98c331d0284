import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeClassification, softmax, summariseLogits } from '../../src/diagnose/probabilities.ts';

const close = (actual: number, expected: number, tolerance = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

test('softmax sums to one and is shift invariant', () => {
  const p = softmax([1, 2, 3]);
  close(p[0] + p[1] + p[2], 1);
  const shifted = softmax([1001, 1002, 1003]);
  p.forEach((value, i) => close(value, shifted[i], 1e-12));
});

test('summariseLogits averages raw logits before softmax', () => {
  const output = summariseLogits({
    role: 'benign-malignant',
    classes: ['benign', 'malignant'],
    rows: [
      [0, 4],
      [2, 0],
    ],
  });
  assert.deepEqual(output.meanLogits, [1, 2]);
  close(output.probabilities[1], 1 / (1 + Math.exp(-1)));
  assert.equal(output.cropCount, 2);
});

test('composition multiplies branch and subtype', () => {
  const bm = summariseLogits({
    role: 'benign-malignant',
    classes: ['benign', 'malignant'],
    rows: [[0, Math.log(3)]],
  });
  const malignant = summariseLogits({
    role: 'malignant-subtype',
    classes: ['HCC', 'ICC', 'MET'],
    rows: [[Math.log(2), 0, 0]],
  });
  const benign = summariseLogits({
    role: 'benign-subtype',
    classes: ['FNH', 'HEM', 'CYST'],
    rows: [[0, 0, Math.log(2)]],
  });
  const result = composeClassification(bm, malignant, benign);
  close(result.pMalignant, 0.75);
  assert.equal(result.branch, 'malignant');
  close(result.probabilities.HCC as number, 0.75 * 0.5);
  close(result.probabilities.ICC as number, 0.75 * 0.25);
  close(result.probabilities.CYST as number, 0.25 * 0.5);
  const total = Object.values(result.probabilities).reduce<number>(
    (sum, value) => sum + (value as number),
    0,
  );
  close(total, 1);
  assert.equal(result.call, 'HCC');
  close(result.callProbability, 0.375);
});

test('composition calls within predicted branch', () => {
  // Benign wins the first stage even though one malignant subtype carries more of the six-class mass.
  const bm = summariseLogits({
    role: 'benign-malignant',
    classes: ['benign', 'malignant'],
    rows: [[0.1, 0]],
  });
  const malignant = summariseLogits({
    role: 'malignant-subtype',
    classes: ['HCC', 'ICC', 'MET'],
    rows: [[10, 0, 0]],
  });
  const benign = summariseLogits({
    role: 'benign-subtype',
    classes: ['FNH', 'HEM', 'CYST'],
    rows: [[0, 0, 0]],
  });
  const result = composeClassification(bm, malignant, benign);
  assert.equal(result.branch, 'benign');
  assert.equal(result.call, 'FNH');
  assert.ok((result.probabilities.HCC as number) > (result.probabilities.FNH as number));
});

test('composition leaves missing branch null', () => {
  const bm = summariseLogits({ role: 'benign-malignant', classes: ['benign', 'malignant'], rows: [[1, 0]] });
  const malignant = summariseLogits({
    role: 'malignant-subtype',
    classes: ['HCC', 'ICC', 'MET'],
    rows: [[0, 1, 0]],
  });
  const result = composeClassification(bm, malignant, null);
  assert.equal(result.probabilities.FNH, null);
  assert.equal(result.probabilities.HEM, null);
  assert.equal(result.probabilities.CYST, null);
  assert.equal(result.branch, 'benign');
  assert.equal(result.call, null);
  close(result.callProbability, 1 - result.pMalignant);
});

test('composition rejects wrong class count', () => {
  const bm = summariseLogits({ role: 'benign-malignant', classes: ['a', 'b', 'c'], rows: [[1, 0, 0]] });
  assert.throws(() => composeClassification(bm, null, null), /expected 2/);
});
