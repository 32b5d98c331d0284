import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OnnxInferenceSession } from '../../src/backends/onnx/session.ts';
import { convertCheckpointToOnnx } from '../../src/diagnose/model-conversion.ts';
import { sharedPath } from '../helpers/shared.ts';

const REFERENCE = 'fixtures/lilnet-reference';

test('reference checkpoint converts with CAM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lilnet-convert-'));
  const previousCache = process.env.LILNET_CACHE_DIR;
  process.env.LILNET_CACHE_DIR = join(dir, 'cache');
  try {
    const checkpoint = join(dir, 'malignant-reference.pth.tar');
    writeFileSync(
      checkpoint,
      gunzipSync(readFileSync(sharedPath(REFERENCE, 'malignant-reference.pth.tar.gz'))),
    );

    const { onnxPath, architecture } = await convertCheckpointToOnnx(checkpoint, 'malignant-subtype', 3);
    assert.equal(architecture, 'LiLNet, ResNet-50 trunk');
    assert.ok(
      onnxPath.startsWith(join(dir, 'cache')),
      `converted file ${onnxPath} is not in the cache folder`,
    );
    // A second call must reuse the cached file rather than convert again.
    assert.deepEqual(await convertCheckpointToOnnx(checkpoint, 'malignant-subtype', 3), {
      onnxPath,
      architecture,
    });

    const bytes = readFileSync(sharedPath(REFERENCE, 'inputs-nchw-float32.bin'));
    const images = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const expected = JSON.parse(readFileSync(sharedPath(REFERENCE, 'expected-outputs.json'), 'utf8')) as {
      aggregated_logits: number[][];
    };
    const session = await OnnxInferenceSession.create(onnxPath);
    const outputs = await session.run({ images: { data: images, shape: [6, 3, 224, 224] } });
    assert.deepEqual(outputs.aggregated_logits.shape, [6, 3]);
    expected.aggregated_logits.forEach((row, n) =>
      row.forEach((value, c) => {
        const actual = outputs.aggregated_logits.data[n * 3 + c];
        assert.ok(Math.abs(actual - value) < 1e-4, `crop ${n} class ${c}: ${actual} vs expected ${value}`);
      }),
    );
    assert.deepEqual(outputs.cam.shape, [6, 3, 7, 7]);
    assert.ok(
      outputs.cam.data.some((value) => value !== 0),
      'the CAM output is all zeros',
    );

    await assert.rejects(
      convertCheckpointToOnnx(checkpoint, 'benign-malignant', 2),
      /has 3 classes but the benign-malignant slot needs 2/,
    );
  } finally {
    if (previousCache === undefined) delete process.env.LILNET_CACHE_DIR;
    else process.env.LILNET_CACHE_DIR = previousCache;
    rmSync(dir, { recursive: true, force: true });
  }
});
