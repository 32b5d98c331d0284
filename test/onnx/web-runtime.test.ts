import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ortWeb from 'onnxruntime-web';
import { readPytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { lilnetConfig } from '../../src/nn/lilnet.ts';
import { exportLilnetOnnx, stateDictParameters } from '../../src/backends/onnx/export-model.ts';
import { OnnxInferenceSession } from '../../src/backends/onnx/session.ts';
import { sharedPath } from '../helpers/shared.ts';

// The exported file must run unchanged in the browser runtime. onnxruntime-web's WebAssembly backend runs in
// Node too, so the same file is loaded here by both runtimes and the results compared with the reference.
const TOLERANCE = 1e-4;
const IMAGE_VALUES = 3 * 224 * 224;

let dir: string;
let modelPath: string;
let expected: Record<string, number[][]>;
let images: Float32Array;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-onnx-web-'));
  const reference = (...parts: string[]) => sharedPath('fixtures', 'lilnet-reference', ...parts);
  const checkpointPath = join(dir, 'reference.pth.tar');
  writeFileSync(checkpointPath, gunzipSync(readFileSync(reference('malignant-reference.pth.tar.gz'))));
  const { stateDict } = await readPytorchCheckpoint(checkpointPath);
  modelPath = join(dir, 'lilnet-k3.onnx');
  writeFileSync(
    modelPath,
    exportLilnetOnnx(lilnetConfig(3), { parameters: stateDictParameters(stateDict) }).bytes,
  );
  expected = JSON.parse(readFileSync(reference('expected-outputs.json'), 'utf8')) as Record<
    string,
    number[][]
  >;
  const raw = readFileSync(reference('inputs-nchw-float32.bin'));
  images = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  ortWeb.env.wasm.numThreads = 1;
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('web runtime runs exported lilnet', async () => {
  const session = await ortWeb.InferenceSession.create(new Uint8Array(readFileSync(modelPath)), {
    executionProviders: ['wasm'],
  });
  assert.deepEqual(session.inputNames, ['images']);
  const batch = images.slice(IMAGE_VALUES, 3 * IMAGE_VALUES);
  const outputs = await session.run({ images: new ortWeb.Tensor('float32', batch, [2, 3, 224, 224]) });
  for (const name of ['aggregated_logits', 'single_logits', 'self_distillation_logits']) {
    const tensor = outputs[name];
    assert.deepEqual(tensor.dims, [2, 3], name);
    const data = tensor.data as Float32Array;
    for (let row = 0; row < 2; row++) {
      for (let c = 0; c < 3; c++) {
        const difference = Math.abs(data[row * 3 + c] - expected[name][row + 1][c]);
        assert.ok(difference <= TOLERANCE, `${name}[${row + 1}][${c}] differs by ${difference}`);
      }
    }
  }
  await session.release();
});

test('web and node runtimes agree', async () => {
  const batch = images.slice(0, IMAGE_VALUES);
  const web = await ortWeb.InferenceSession.create(new Uint8Array(readFileSync(modelPath)));
  const webOut = await web.run({ images: new ortWeb.Tensor('float32', batch, [1, 3, 224, 224]) });
  await web.release();
  const node = await OnnxInferenceSession.create(modelPath);
  const nodeOut = await node.run({ images: { data: batch, shape: [1, 3, 224, 224] } });
  await node.release();
  const webJoint = webOut.layer4_joint_logits.data as Float32Array;
  assert.equal(webJoint.length, nodeOut.layer4_joint_logits.data.length);
  webJoint.forEach((v, i) =>
    assert.ok(Math.abs(v - nodeOut.layer4_joint_logits.data[i]) <= 1e-5, `element ${i}`),
  );
});
