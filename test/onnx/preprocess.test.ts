import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  imageToModelInput,
  imagesToBatch,
  readImage8,
  resizeBilinearPil,
  type Image8,
} from '../../src/nn/preprocess.ts';
import { LilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

const reference = (...parts: string[]) => sharedPath('fixtures', 'lilnet-reference', ...parts);
const CROPS = [1, 2, 3, 4, 5, 6].map((i) => reference('crops', `crop-0${i}.png`));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-preprocess-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('png crops reproduce reference inputs', async () => {
  // The reference inputs were prepared by the authors' transform (PIL bilinear 160 -> 224, x/255, (x-0.5)/0.5).
  const raw = readFileSync(reference('inputs-nchw-float32.bin'));
  const expected = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const actual = await imagesToBatch(CROPS);
  assert.equal(actual.length, expected.length);
  let differing = 0;
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) differing++;
  assert.equal(differing, 0, `${differing} of ${expected.length} values differ`);
});

test('grey crop replicated to three channels', async () => {
  const image = await readImage8(CROPS[0]);
  assert.equal(image.channels, 1);
  assert.equal(image.width, 160);
  const input = imageToModelInput(image);
  const plane = 224 * 224;
  assert.deepEqual(input.subarray(0, plane), input.subarray(plane, 2 * plane));
  assert.deepEqual(input.subarray(0, plane), input.subarray(2 * plane));
  assert.ok(input.every((v) => v >= -1 && v <= 1));
});

test('constant image stays constant', () => {
  const image: Image8 = { width: 37, height: 53, channels: 1, data: new Uint8Array(37 * 53).fill(200) };
  for (const [w, h] of [
    [224, 224],
    [20, 11],
  ]) {
    const resized = resizeBilinearPil(image, w, h);
    assert.ok(
      resized.data.every((v) => v === 200),
      `${w}x${h}`,
    );
  }
});

test('undecodable image rejected', async () => {
  const path = join(dir, 'broken.png');
  writeFileSync(path, Buffer.from('not an image'));
  await assert.rejects(readImage8(path), (error: unknown) => {
    assert.ok(error instanceof LilnetError);
    assert.equal(error.code, 'UNSUPPORTED_FORMAT');
    assert.match(error.message, /broken\.png/);
    return true;
  });
});

// Pillow through Debian's python3, when present, checks the other resize directions pixel for pixel.
const PYTHON = '/usr/bin/python3';
const hasPillow = spawnSync(PYTHON, ['-c', 'import PIL.Image'], { encoding: 'utf8' }).status === 0;

test(
  'resize matches pillow both directions',
  { skip: hasPillow ? false : `${PYTHON} cannot import PIL` },
  () => {
    const width = 97;
    const height = 61;
    const data = new Uint8Array(width * height * 3);
    let state = 12345;
    for (let i = 0; i < data.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      data[i] = state >>> 24;
    }
    const source = join(dir, 'random.rgb');
    writeFileSync(source, data);
    const sizes = [
      [224, 224],
      [40, 30],
      [150, 45],
    ];
    const script = [
      'import sys',
      'from PIL import Image',
      `im = Image.frombytes('RGB', (${width}, ${height}), open(sys.argv[1], 'rb').read())`,
      ...sizes.map(([w, h]) => `sys.stdout.buffer.write(im.resize((${w}, ${h}), Image.BILINEAR).tobytes())`),
    ].join('\n');
    const result = spawnSync(PYTHON, ['-c', script, source], { maxBuffer: 1 << 24 });
    assert.equal(result.status, 0, String(result.stderr));
    let offset = 0;
    for (const [w, h] of sizes) {
      const expected = result.stdout.subarray(offset, offset + w * h * 3);
      offset += w * h * 3;
      const actual = resizeBilinearPil({ width, height, channels: 3, data }, w, h);
      let differing = 0;
      for (let i = 0; i < expected.length; i++) if (actual.data[i] !== expected[i]) differing++;
      assert.equal(differing, 0, `${w}x${h}: ${differing} bytes differ from Pillow`);
    }
  },
);

/** Encodes a grey image as an uncompressed 24-bit BMP (bottom-up rows padded to 4 bytes), as the authors' crops are. */
function encodeGreyBmp24(image: Image8): Buffer {
  const rowBytes = Math.ceil((image.width * 3) / 4) * 4;
  const pixelBytes = rowBytes * image.height;
  const file = Buffer.alloc(54 + pixelBytes);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(image.width, 18);
  file.writeInt32LE(image.height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(pixelBytes, 34);
  for (let y = 0; y < image.height; y++) {
    const rowStart = 54 + (image.height - 1 - y) * rowBytes;
    for (let x = 0; x < image.width; x++) {
      const grey = image.data[y * image.width + x];
      file.fill(grey, rowStart + 3 * x, rowStart + 3 * x + 3);
    }
  }
  return file;
}

test('bmp crop gives the png batch', async () => {
  const png = await readImage8(CROPS[0]);
  const bmpPath = join(dir, 'IMG-0002-00001_0.bmp');
  writeFileSync(bmpPath, encodeGreyBmp24(png));
  const bmp = await readImage8(bmpPath);
  assert.equal(bmp.width, png.width);
  assert.equal(bmp.height, png.height);
  const fromBmp = await imagesToBatch([bmpPath]);
  const fromPng = await imagesToBatch([CROPS[0]]);
  assert.deepEqual(fromBmp, fromPng);
});
