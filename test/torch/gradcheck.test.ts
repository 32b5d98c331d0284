import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ParameterStore,
  TorchOps,
  copyInto,
  int64Tensor,
  noGrad,
  scope,
  tensor,
  type TorchTensor,
} from '../../src/backends/torch/index.ts';
import { createRandom } from '../../src/nn/init.ts';
import { lilnetConfig, lilnetForward, lilnetLoss, lilnetSpecs } from '../../src/nn/lilnet.ts';

// Central finite differences in float64 against the analytic gradients of libtorch's autograd. Each check
// differentiates L = sum(f(x) * w) for a fixed random w, at a few random coordinates of every input.
const EPS = 1e-6;
const ATOL = 1e-7;
const RTOL = 1e-5;
const COORDINATES_PER_INPUT = 6;
const ops = new TorchOps();
const random = createRandom(7);

function randomValues(count: number, scale = 1): Float64Array {
  return Float64Array.from({ length: count }, () => (2 * random() - 1) * scale);
}

interface Input {
  shape: number[];
  data?: Float64Array;
  /** False for inputs that are not differentiated (running statistics). */
  differentiable?: boolean;
}

function checkGradients(name: string, inputs: Input[], f: (xs: TorchTensor[]) => TorchTensor): void {
  const values = inputs.map((input) => input.data ?? randomValues(input.shape.reduce((p, d) => p * d, 1)));
  scope(() => {
    const xs = values.map((data, i) => tensor(data, inputs[i].shape));
    xs.forEach((x, i) => {
      if (inputs[i].differentiable !== false) x.setRequiresGrad(true);
    });
    const y = f(xs);
    const weights = tensor(randomValues(y.size), [...y.shape]);
    const objective = (output: TorchTensor): TorchTensor => ops.sum(ops.mul(output, weights), []);
    objective(y).backward();

    xs.forEach((x, i) => {
      if (inputs[i].differentiable !== false) {
        const analytic = x.grad()?.toFloat64Array();
        assert.ok(analytic, `${name}: input ${i} received no gradient`);
        for (let k = 0; k < COORDINATES_PER_INPUT; k++) {
          const j = Math.floor(random() * values[i].length);
          const evaluate = (delta: number): number =>
            noGrad(() =>
              scope(() => {
                const shifted = values[i].slice();
                shifted[j] += delta;
                const args = xs.map((other, m) => (m === i ? tensor(shifted, inputs[i].shape) : other));
                return objective(f(args)).item();
              }),
            );
          const numeric = (evaluate(EPS) - evaluate(-EPS)) / (2 * EPS);
          const tolerance = ATOL + RTOL * Math.abs(numeric) + 1e-6;
          assert.ok(
            Math.abs(analytic[j] - numeric) <= tolerance,
            `${name}: d/dx${i}[${j}] analytic ${analytic[j]} vs numeric ${numeric}`,
          );
        }
      }
    });
  });
}

const positive = (count: number): Float64Array => Float64Array.from({ length: count }, () => 0.5 + random());

const cases: [string, Input[], (xs: TorchTensor[]) => TorchTensor][] = [
  [
    'conv2d stride 2 padding 1 with bias',
    [{ shape: [2, 3, 7, 7] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
    ([x, w, b]) => ops.conv2d(x, w, b, { stride: 2, padding: 1 }),
  ],
  [
    'conv2d grouped dilated',
    [{ shape: [1, 4, 8, 8] }, { shape: [6, 2, 3, 3] }],
    ([x, w]) => ops.conv2d(x, w, null, { groups: 2, dilation: 2, padding: [2, 1] }),
  ],
  [
    'batchNorm2d training',
    [
      { shape: [3, 4, 5, 5] },
      { shape: [4] },
      { shape: [4] },
      { shape: [4], differentiable: false },
      { shape: [4], data: positive(4), differentiable: false },
    ],
    ([x, w, b, m, v]) => ops.batchNorm2d(x, w, b, m, v, { training: true, momentum: 0.1, eps: 1e-5 }),
  ],
  [
    'batchNorm2d eval',
    [
      { shape: [2, 4, 3, 3] },
      { shape: [4] },
      { shape: [4] },
      { shape: [4], differentiable: false },
      { shape: [4], data: positive(4), differentiable: false },
    ],
    ([x, w, b, m, v]) => ops.batchNorm2d(x, w, b, m, v, { training: false, momentum: 0.1, eps: 1e-5 }),
  ],
  ['linear', [{ shape: [5, 6] }, { shape: [3, 6] }, { shape: [3] }], ([x, w, b]) => ops.linear(x, w, b)],
  ['maxPool2d 3x3 stride 2 padding 1', [{ shape: [2, 2, 7, 7] }], ([x]) => ops.maxPool2d(x, 3, 2, 1)],
  ['globalAvgPool2d', [{ shape: [2, 3, 4, 5] }], ([x]) => ops.globalAvgPool2d(x)],
  ['upsampleNearest2d', [{ shape: [1, 2, 3, 3] }], ([x]) => ops.upsampleNearest2d(x, 2)],
  ['relu', [{ shape: [4, 5] }], ([x]) => ops.relu(x)],
  ['silu', [{ shape: [4, 5] }], ([x]) => ops.silu(x)],
  ['sigmoid', [{ shape: [4, 5] }], ([x]) => ops.sigmoid(x)],
  ['softmax', [{ shape: [3, 6] }], ([x]) => ops.softmax(x, 1)],
  ['logSoftmax', [{ shape: [3, 6] }], ([x]) => ops.logSoftmax(x, 1)],
  ['add with broadcasting', [{ shape: [2, 3, 4] }, { shape: [1, 3, 1] }], ([a, b]) => ops.add(a, b)],
  ['sub', [{ shape: [2, 3] }, { shape: [2, 3] }], ([a, b]) => ops.sub(a, b)],
  ['mul with broadcasting', [{ shape: [2, 1, 4] }, { shape: [3, 1] }], ([a, b]) => ops.mul(a, b)],
  ['mulScalar', [{ shape: [3, 3] }], ([x]) => ops.mulScalar(x, -2.5)],
  ['reshape', [{ shape: [2, 6] }], ([x]) => ops.mul(ops.reshape(x, [3, -1]), ops.reshape(x, [3, 4]))],
  ['permute', [{ shape: [2, 3, 4] }], ([x]) => ops.permute(x, [2, 0, 1])],
  ['concat', [{ shape: [2, 3] }, { shape: [2, 2] }], ([a, b]) => ops.concat([a, b], 1)],
  ['slice', [{ shape: [4, 5] }], ([x]) => ops.slice(x, 1, 1, 4)],
  ['sum', [{ shape: [2, 3, 4] }], ([x]) => ops.sum(x, [0, 2], true)],
  ['mean', [{ shape: [2, 3, 4] }], ([x]) => ops.mean(x, [1])],
  ['crossEntropy', [{ shape: [4, 3] }], ([x]) => ops.crossEntropy(x, Int32Array.from([0, 2, 1, 2]))],
  [
    'klDivBatchmean',
    [{ shape: [3, 4] }, { shape: [3, 4] }],
    ([a, b]) => ops.klDivBatchmean(ops.logSoftmax(a, 1), ops.softmax(b, 1)),
  ],
];

for (const [name, inputs, f] of cases) {
  test(`gradient of ${name}`, () => checkGradients(name, inputs, f));
}

test('crossEntropy equals mean negative log-likelihood', () => {
  scope(() => {
    const logits = randomValues(8);
    const labels = Int32Array.from([1, 0]);
    const value = ops.crossEntropy(tensor(logits, [2, 4]), labels).item();
    let expected = 0;
    for (let row = 0; row < 2; row++) {
      const slice = logits.subarray(row * 4, row * 4 + 4);
      const logSum = Math.log(slice.reduce((total, v) => total + Math.exp(v), 0));
      expected += (logSum - slice[labels[row]]) / 2;
    }
    assert.ok(Math.abs(value - expected) < 1e-12, `${value} vs ${expected}`);
    assert.equal(int64Tensor([1, 2]).dtype, 'int64');
  });
});

test('gradient of the LiLNet loss', () => {
  // A tiny LiLNet in float64: base width 2, one block per stage, 64x64 inputs (layer3 4x4, layer4 2x2).
  const config = lilnetConfig(3, { baseWidth: 2, blocksPerStage: [1, 1, 1, 1] });
  const store = ParameterStore.initialise(lilnetSpecs(config), 11, { dtype: 'float64' });
  const images = randomValues(2 * 3 * 64 * 64);
  const labels = Int32Array.from([2, 0]);
  try {
    scope(() => {
      const input = tensor(images, [2, 3, 64, 64]).setRequiresGrad(true);
      const outputs = lilnetForward(ops, store.lookup, config, input, { training: true });
      // The distillation target is detached: finite differences hold it at its value at the base point.
      const target = outputs.aggregated.toFloat64Array();
      lilnetLoss(ops, outputs, labels, 3).total.backward();

      const lossAt = (x: TorchTensor): number =>
        noGrad(() =>
          scope(() => {
            const shifted = lilnetForward(ops, store.lookup, config, x, { training: true });
            const fixedTarget = { ...shifted, aggregated: tensor(target, [2, 3]) };
            return lilnetLoss(ops, fixedTarget, labels, 3).total.item();
          }),
        );
      const checked = [
        'conv1.weight',
        'bn1.weight',
        'layer2.0.conv2.weight',
        'layer4.0.downsample.1.bias',
        'fc3.weight',
        'fc_ens.bias',
        'fc.weight',
        'fc_SD.weight',
      ];
      for (const name of checked) {
        const parameter = store.get(name);
        const analytic = parameter.grad()?.toFloat64Array();
        assert.ok(analytic, `${name} received no gradient`);
        const original = parameter.toFloat64Array();
        for (let k = 0; k < 3; k++) {
          const j = Math.floor(random() * original.length);
          const at = (delta: number): number => {
            const shifted = original.slice();
            shifted[j] += delta;
            scope(() => copyInto(parameter, tensor(shifted, [...parameter.shape])));
            return lossAt(input);
          };
          const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
          scope(() => copyInto(parameter, tensor(original, [...parameter.shape])));
          assert.ok(
            Math.abs(analytic[j] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric),
            `${name}[${j}]: analytic ${analytic[j]} vs numeric ${numeric}`,
          );
        }
      }
      const inputGradient = input.grad()?.toFloat64Array();
      assert.ok(inputGradient, 'the input received no gradient');
      for (let k = 0; k < 3; k++) {
        const j = Math.floor(random() * images.length);
        const at = (delta: number): number => {
          const shifted = images.slice();
          shifted[j] += delta;
          return scope(() => lossAt(tensor(shifted, [2, 3, 64, 64])));
        };
        const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
        assert.ok(
          Math.abs(inputGradient[j] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric),
          `input[${j}]: analytic ${inputGradient[j]} vs numeric ${numeric}`,
        );
      }
    });
  } finally {
    store.dispose();
  }
});
