import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ops, ParameterLookup } from '../../src/nn/ops.ts';
import { exportOnnx } from '../../src/backends/onnx/export.ts';
import { OnnxInferenceSession } from '../../src/backends/onnx/session.ts';
import { LilnetError } from '../../src/errors.ts';
import { ReferenceOps, type RefTensor } from './reference-ops.ts';

/** Deterministic pseudo-random values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const PARAMETERS: Record<string, { shape: number[]; data: Float32Array }> = {};
function parameter(name: string, shape: number[], seed: number, positive = false): void {
  const data = values(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  PARAMETERS[name] = { shape, data: positive ? data.map((v) => 0.5 + Math.abs(v)) : data };
}
parameter('conv1.weight', [4, 2, 3, 3], 1);
parameter('conv1.bias', [4], 2);
parameter('bn1.weight', [4], 3);
parameter('bn1.bias', [4], 4);
parameter('bn1.running_mean', [4], 5);
parameter('bn1.running_var', [4], 6, true);
parameter('fc.weight', [3, 4], 7);
parameter('fc.bias', [3], 8);
parameter('head.weight', [2, 4], 9);

/**
 * A small network that uses every operation of `Ops`, including the batch tricks LiLNet needs: a masked copy of
 * each image interleaved into the batch, per-image reshapes, permutes and slices.
 */
function smallNetwork<T>(ops: Ops<T>, x: T, p: ParameterLookup<T>): Record<string, T> {
  let h = ops.conv2d(x, p('conv1.weight'), p('conv1.bias'), { stride: 1, padding: 1 });
  h = ops.batchNorm2d(h, p('bn1.weight'), p('bn1.bias'), p('bn1.running_mean'), p('bn1.running_var'), {
    training: false,
    momentum: 0.1,
    eps: 1e-5,
  });
  h = ops.relu(h);
  const features = ops.maxPool2d(h, 3, 2, 1); // [B, 4, 3, 3]
  const [batch, channels, size] = ops.shape(features);

  const mask = new Float32Array(2 * size * size).fill(1);
  mask.fill(0, size * size, size * size + 4);
  const masks = ops.constant(mask, [1, 2, 1, size, size], 'masks');
  const expanded = ops.reshape(features, [batch, 1, channels, size, size]);
  const variants = ops.reshape(ops.mul(expanded, masks), [batch * 2, channels, size, size]);

  const pooled = ops.globalAvgPool2d(variants); // [2B, 4]
  const logits = ops.linear(pooled, p('fc.weight'), p('fc.bias')); // [2B, 3]
  const perImage = ops.reshape(logits, [batch, 2, 3]);
  const first = ops.reshape(ops.slice(perImage, 1, 0, 1), [batch, 3]);
  const averaged = ops.mean(perImage, [1]);
  const swapped = ops.permute(perImage, [0, 2, 1]); // [B, 3, 2]
  const summed = ops.sum(swapped, [-1], true); // [B, 3, 1]
  const combined = ops.concat([first, ops.mulScalar(averaged, 0.5)], 1); // [B, 6]
  const linear3d = ops.linear(
    ops.permute(ops.reshape(pooled, [batch, 2, 4]), [0, 1, 2]),
    p('head.weight'),
    null,
  );

  const up = ops.upsampleNearest2d(features, 2);
  const gated = ops.sub(ops.silu(up), ops.sigmoid(up));
  return {
    logits,
    first,
    averaged,
    summed,
    combined,
    linear3d,
    softmax: ops.softmax(combined, -1),
    log_softmax: ops.logSoftmax(averaged, 1),
    feature_map: features,
    gated,
    batch_mean: ops.mean(first, [0]),
  };
}

const OUTPUTS = Object.keys(
  smallNetwork(
    new ReferenceOps(),
    new ReferenceOps().tensor(new Float32Array(2 * 2 * 6 * 6), [2, 2, 6, 6]),
    (name) => {
      const p = PARAMETERS[name];
      return new ReferenceOps().tensor(p.data, p.shape);
    },
  ),
);

function reference(input: Float32Array, shape: number[]): Record<string, RefTensor> {
  const ops = new ReferenceOps();
  return smallNetwork(ops, ops.tensor(input, shape), (name) =>
    ops.tensor(PARAMETERS[name].data, PARAMETERS[name].shape),
  );
}

function exportSmallNetwork(outputs: string[]): Uint8Array {
  return exportOnnx({
    graphName: 'small-network',
    inputs: [{ name: 'input', shape: [1, 2, 6, 6] }],
    forward: (ops, [x], p) => smallNetwork(ops, x, p),
    outputs,
    parameters: (name) => PARAMETERS[name],
  }).bytes;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tolerance, `${what}: max abs difference ${worst} > ${tolerance}`);
}

test('recorded graph matches reference at batch 3', async () => {
  const session = await OnnxInferenceSession.create(exportSmallNetwork(OUTPUTS), {
    intraOpThreads: 1,
  });
  const input = values(3 * 2 * 6 * 6, 42);
  const expected = reference(input, [3, 2, 6, 6]);
  const actual = await session.run({ input: { data: input, shape: [3, 2, 6, 6] } });
  for (const name of session.outputNames) {
    assert.deepEqual(actual[name].shape, expected[name].shape, `${name} shape`);
    assertClose(actual[name].data, expected[name].data, 1e-5, name);
  }
  await session.release();
});

test('recorded graph has dynamic batch', async () => {
  const session = await OnnxInferenceSession.create(
    exportSmallNetwork(['logits', 'combined', 'feature_map']),
  );
  for (const batch of [1, 2, 5]) {
    const input = values(batch * 2 * 6 * 6, batch);
    const expected = reference(input, [batch, 2, 6, 6]);
    const actual = await session.run({ input: { data: input, shape: [batch, 2, 6, 6] } });
    assert.deepEqual(actual.logits.shape, [2 * batch, 3]);
    assertClose(actual.combined.data, expected.combined.data, 1e-5, `combined at batch ${batch}`);
    assertClose(actual.feature_map.data, expected.feature_map.data, 1e-5, `feature_map at batch ${batch}`);
  }
  await session.release();
});

test('export keeps only needed initializers', () => {
  const small = exportOnnx({
    graphName: 'small-network',
    inputs: [{ name: 'input', shape: [1, 2, 6, 6] }],
    forward: (ops, [x], p) => smallNetwork(ops, x, p),
    outputs: ['feature_map'],
    parameters: (name) => PARAMETERS[name],
  });
  const full = exportSmallNetwork(['logits']);
  assert.ok(small.bytes.byteLength < full.byteLength);
  assert.deepEqual(small.outputs, [{ name: 'feature_map', dims: ['batch', 4, 3, 3] }]);
  assert.deepEqual(small.inputs, [{ name: 'input', dims: ['batch', 2, 6, 6] }]);
});

test('export reports unknown output name', () => {
  assert.throws(
    () => exportSmallNetwork(['no_such_output']),
    (error: unknown) =>
      error instanceof LilnetError &&
      error.code === 'ONNX_EXPORT_FAILED' &&
      /no_such_output/.test(error.message),
  );
});

test('export rejects batch reduction slice', () => {
  assert.throws(
    () =>
      exportOnnx({
        graphName: 'bad',
        inputs: [{ name: 'input', shape: [1, 2, 6, 6] }],
        forward: (ops, [x]) => ({ y: ops.slice(x, 0, 0, 1) }),
        outputs: ['y'],
        parameters: (name) => PARAMETERS[name],
      }),
    (error: unknown) => error instanceof LilnetError && /whole batch dimension/.test(error.message),
  );
});

test('export rejects training batch norm', () => {
  assert.throws(
    () =>
      exportOnnx({
        graphName: 'bad',
        inputs: [{ name: 'input', shape: [1, 4, 6, 6] }],
        forward: (ops, [x], p) => ({
          y: ops.batchNorm2d(x, p('bn1.weight'), p('bn1.bias'), p('bn1.running_mean'), p('bn1.running_var'), {
            training: true,
            momentum: 0.1,
            eps: 1e-5,
          }),
        }),
        outputs: ['y'],
        parameters: (name) => PARAMETERS[name],
      }),
    (error: unknown) => error instanceof LilnetError && /eval mode/.test(error.message),
  );
});

test('session rejects corrupt model bytes', async () => {
  const bytes = exportSmallNetwork(['logits']);
  await assert.rejects(
    OnnxInferenceSession.create(bytes.subarray(0, 300)),
    (error: unknown) => error instanceof LilnetError && error.code === 'ONNX_INFERENCE_FAILED',
  );
});
