import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LilnetError } from '../../src/errors.ts';
import {
  Sgd,
  TorchOps,
  keep,
  liveTensorCount,
  noGrad,
  scope,
  tensor,
  torchVersion,
  zeros,
} from '../../src/backends/torch/index.ts';

const ops = new TorchOps();

test('tensor round-trips float32 and float64 data', () => {
  const data = Float32Array.from([1.5, -2, 3.25, 4, 5, 6]);
  const x = tensor(data, [2, 3]);
  assert.deepEqual(x.shape, [2, 3]);
  assert.equal(x.dtype, 'float32');
  assert.deepEqual(x.toFloat32Array(), data);
  x.dispose();
  const y = tensor(Float64Array.from([0.1, 0.2]), [2]);
  assert.equal(y.dtype, 'float64');
  assert.deepEqual(y.toFloat64Array(), Float64Array.from([0.1, 0.2]));
  y.dispose();
  assert.match(torchVersion(), /^\d+\.\d+\.\d+$/);
});

test('tensor rejects data that does not fill the shape', () => {
  assert.throws(
    () => tensor(new Float32Array(5), [2, 3]),
    (error: unknown) =>
      error instanceof LilnetError && error.code === 'INVALID_ARGUMENT' && /5 values/.test(error.message),
  );
});

test('native error names the failed call', () => {
  scope(() => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    assert.throws(
      () => ops.linear(a, b, null),
      (error: unknown) =>
        error instanceof LilnetError &&
        error.code === 'TORCH_OP_FAILED' &&
        error.message.startsWith('torch linear failed: ') &&
        /shapes cannot be multiplied/.test(error.message),
    );
    assert.throws(
      () => ops.conv2d(a, b, null),
      (error: unknown) =>
        error instanceof LilnetError && error.code === 'TORCH_OP_FAILED' && /conv2d/.test(error.message),
    );
  });
});

test('disposed tensor raises TORCH_TENSOR_DISPOSED', () => {
  const x = zeros([3]);
  x.dispose();
  x.dispose();
  assert.equal(x.isDisposed, true);
  assert.throws(
    () => ops.relu(x),
    (error: unknown) => error instanceof LilnetError && error.code === 'TORCH_TENSOR_DISPOSED',
  );
});

test('scope disposes intermediates and keeps results', () => {
  const before = liveTensorCount();
  const { kept, returned } = scope(() => {
    const a = tensor(Float32Array.from([1, 2, 3]), [3]);
    const b = ops.mulScalar(a, 2);
    ops.add(a, b);
    const kept = keep(ops.relu(b));
    return { kept: kept, returned: [ops.sum(b, [])] };
  });
  assert.equal(liveTensorCount(), before + 2);
  assert.equal(returned[0].item(), 12);
  assert.deepEqual(kept.toFloat32Array(), Float32Array.from([2, 4, 6]));
  returned[0].dispose();
  kept.dispose();
  assert.equal(liveTensorCount(), before);
});

test('scope disposes everything when its function throws', () => {
  const before = liveTensorCount();
  assert.throws(() =>
    scope(() => {
      ops.relu(zeros([4]));
      throw new Error('boom');
    }),
  );
  assert.equal(liveTensorCount(), before);
});

test('nested scope moves returned tensors to the outer scope', () => {
  const before = liveTensorCount();
  scope(() => {
    const inner = scope(() => ops.relu(zeros([2])));
    assert.equal(inner.isDisposed, false);
    assert.equal(liveTensorCount(), before + 1);
  });
  assert.equal(liveTensorCount(), before);
});

test('noGrad stops gradient recording', () => {
  scope(() => {
    const w = tensor(Float32Array.from([1, 2]), [2]).setRequiresGrad(true);
    const inside = noGrad(() => ops.mulScalar(w, 3));
    assert.equal(inside.requiresGrad, false);
    const outside = ops.mulScalar(w, 3);
    assert.equal(outside.requiresGrad, true);
  });
});

test('backward accumulates gradients until zeroGrad', () => {
  scope(() => {
    const w = tensor(Float32Array.from([1, 2, 3]), [3]).setRequiresGrad(true);
    const sgd = new Sgd([w], { lr: 0.1 });
    ops.sum(ops.mul(w, w), []).backward();
    ops.sum(ops.mul(w, w), []).backward();
    assert.deepEqual(w.grad()?.toFloat32Array(), Float32Array.from([4, 8, 12]));
    sgd.zeroGrad();
    assert.equal(w.grad(), null);
    ops.sum(w, []).backward();
    sgd.zeroGrad(false);
    assert.deepEqual(w.grad()?.toFloat32Array(), Float32Array.from([0, 0, 0]));
  });
});

/** torch.optim.SGD's update, written out in float64 for a constant gradient. */
function referenceSgd(
  p0: number[],
  gradient: number[],
  steps: number,
  o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean },
): number[] {
  const p = [...p0];
  const buffer: number[] = [];
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < p.length; i++) {
      let d = gradient[i] + o.weightDecay * p[i];
      buffer[i] = step === 0 ? d : o.momentum * buffer[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buffer[i] : buffer[i];
      p[i] -= o.lr * d;
    }
  }
  return p;
}

for (const options of [
  { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: false },
  { lr: 0.05, momentum: 0.5, dampening: 0.3, weightDecay: 0, nesterov: false },
  { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: true },
  { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false },
]) {
  test(`Sgd follows torch semantics (${JSON.stringify(options)})`, () => {
    const start = [0.5, -1, 2];
    const coefficients = [1, -3, 0.25];
    scope(() => {
      const w = tensor(Float64Array.from(start), [3]).setRequiresGrad(true);
      const c = tensor(Float64Array.from(coefficients), [3]);
      const sgd = new Sgd([w], options);
      for (let step = 0; step < 4; step++) {
        sgd.zeroGrad();
        scope(() => ops.sum(ops.mul(w, c), []).backward());
        sgd.step();
      }
      const expected = referenceSgd(start, coefficients, 4, options);
      const actual = w.toFloat64Array();
      expected.forEach((value, i) =>
        assert.ok(Math.abs(actual[i] - value) < 1e-12, `p[${i}] ${actual[i]} vs ${value}`),
      );
      assert.equal(sgd.momentumBuffers()[0] === null, options.momentum === 0);
      sgd.dispose();
    });
  });
}

test('Sgd rejects invalid options', () => {
  assert.throws(
    () => new Sgd([], { lr: -1 }),
    (e: unknown) => e instanceof LilnetError && e.code === 'INVALID_ARGUMENT',
  );
  assert.throws(
    () => new Sgd([], { lr: 0.1, nesterov: true }),
    (e: unknown) => e instanceof LilnetError && /Nesterov/.test(e.message),
  );
});

test('int64Tensor rejects non-integer labels', async () => {
  const { int64Tensor } = await import('../../src/backends/torch/index.ts');
  // Int32Array.from would truncate 1.5 to 1 and wrap 2^31 to -2^31 without a word.
  for (const bad of [[0, 1.5], [Number.NaN], [2 ** 31], [-(2 ** 31) - 1]]) {
    assert.throws(
      () => int64Tensor(bad),
      (error: unknown) =>
        error instanceof LilnetError &&
        error.code === 'INVALID_ARGUMENT' &&
        /^int64Tensor: value .* at index \d+ is not a 32-bit integer/.test(error.message),
      `values ${bad.join(', ')}`,
    );
  }
  const labels = int64Tensor([0, 2, -1]);
  assert.deepEqual(Array.from(labels.toFloat64Array()), [0, 2, -1]);
  labels.dispose();
});

test('disposed tensor error names the call', () => {
  const x = zeros([2, 2]);
  x.dispose();
  const input = zeros([1, 1, 4, 4]);
  const cases: [string, () => unknown][] = [
    ['relu', () => ops.relu(x)],
    ['conv2d', () => ops.conv2d(input, x, null)],
    ['toFloat32Array', () => x.toFloat32Array()],
    ['backward', () => x.backward()],
    ['sgdStep', () => new Sgd([x], { lr: 0.1 }).step()],
    ['zeroGrad', () => new Sgd([x], { lr: 0.1 }).zeroGrad()],
  ];
  for (const [call, run] of cases) {
    assert.throws(
      run,
      (error: unknown) =>
        error instanceof LilnetError &&
        error.code === 'TORCH_TENSOR_DISPOSED' &&
        error.message.startsWith(`torch ${call}: `) &&
        error.hint !== undefined,
      call,
    );
  }
  input.dispose();
});

test('non-integer sizes and dims are rejected', () => {
  // The addon converts numbers to int64 by truncation, so permute([0.5, 1]) ran as permute([0, 1]).
  scope(() => {
    const x = tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    const image = zeros([1, 1, 4, 4]);
    const kernel = zeros([1, 1, 3, 3]);
    const cases: [string, () => unknown][] = [
      ['permute', () => ops.permute(x, [0.5, 1])],
      ['reshape', () => ops.reshape(x, [1.5, 4])],
      ['slice', () => ops.slice(x, 1, Number.NaN, 1)],
      ['slice', () => ops.slice(x, 1.5, 0, 1)],
      ['sum', () => ops.sum(x, [Number.NaN])],
      ['mean', () => ops.mean(x, [0.5])],
      ['softmax', () => ops.softmax(x, 1.5)],
      ['logSoftmax', () => ops.logSoftmax(x, Number.NaN)],
      ['concat', () => ops.concat([x, x], 0.5)],
      ['maxPool2d', () => ops.maxPool2d(image, Number.NaN, 1, 0)],
      ['conv2d', () => ops.conv2d(image, kernel, null, { stride: 1.5 })],
      ['conv2d', () => ops.conv2d(image, kernel, null, { groups: Number.NaN })],
    ];
    for (const [call, run] of cases) {
      assert.throws(
        run,
        (error: unknown) =>
          error instanceof LilnetError &&
          error.code === 'INVALID_ARGUMENT' &&
          error.message.startsWith(`torch ${call}: `) &&
          /is not an integer/.test(error.message),
        call,
      );
    }
  });
});

test('setNumThreads rejects absurd counts', async () => {
  // libgomp tries to allocate per-thread state for every requested thread and aborts the process on failure.
  const { getNumThreads, setNumThreads } = await import('../../src/backends/torch/index.ts');
  const before = getNumThreads();
  for (const threads of [1e9, 1025, 0, 1.5]) {
    assert.throws(
      () => setNumThreads(threads),
      (error: unknown) => error instanceof LilnetError && error.code === 'INVALID_ARGUMENT',
      String(threads),
    );
  }
  assert.equal(getNumThreads(), before);
});
