import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { readPytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { LilnetError } from '../../src/errors.ts';
import { sharedPath } from '../helpers/shared.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lilnet-checkpoint-errors-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function expectError(path: string, code: string, pattern: RegExp): Promise<LilnetError> {
  const error = await readPytorchCheckpoint(path).then(
    () => assert.fail(`reading ${path} should fail`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LilnetError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  assert.equal(error.file, path);
  assert.equal(typeof error.hint, 'string', 'error has a hint');
  assert.notEqual(error.hint, '', 'hint is not empty');
  return error;
}

/** Pickle bytes with protocol 2 header, the given body and STOP. */
function pickle(...body: number[][]): Uint8Array {
  return new Uint8Array([0x80, 0x02, ...body.flat(), 0x2e]);
}

function ascii(text: string): number[] {
  return [...Buffer.from(text, 'latin1')];
}

function writeArchive(name: string, files: Record<string, Uint8Array>): string {
  const path = join(dir, name);
  writeFileSync(path, zipSync(files, { level: 0 }));
  return path;
}

test('missing checkpoint file', async () => {
  await expectError(join(dir, 'absent.pth'), 'FILE_NOT_FOUND', /absent\.pth/);
});

test('legacy pickle checkpoint rejected', async () => {
  // The pre-1.6 format starts with a pickled magic number, not a zip header.
  const path = join(dir, 'legacy.pth');
  writeFileSync(path, pickle([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]));
  const error = await expectError(path, 'CHECKPOINT_LEGACY_FORMAT', /legacy \(pre-1\.6\) torch\.save format/);
  assert.match(error.hint!, /torch\.save/);
});

test('gzip checkpoint rejected', async () => {
  const path = sharedPath('fixtures', 'lilnet-reference', 'malignant-reference.pth.tar.gz');
  const error = await expectError(path, 'CHECKPOINT_LEGACY_FORMAT', /gzip-compressed/);
  assert.match(error.hint!, /gunzip/);
});

test('truncated zip checkpoint rejected', async () => {
  const good = zipSync(
    { 'archive/data.pkl': pickle([0x7d]), 'archive/data/0': new Uint8Array(4096) },
    { level: 0 },
  );
  const path = join(dir, 'truncated.pth');
  writeFileSync(path, good.subarray(0, good.length - 200));
  await expectError(path, 'CHECKPOINT_CORRUPT', /truncated or damaged/);
});

test('zip without data.pkl rejected', async () => {
  const path = writeArchive('no-pickle.pth', { 'archive/other.txt': new Uint8Array([1, 2, 3]) });
  await expectError(path, 'CHECKPOINT_CORRUPT', /no <root>\/data\.pkl/);
});

test('unknown pickle opcode rejected', async () => {
  const path = writeArchive('bad-op.pth', { 'archive/data.pkl': pickle([0x7d, 0xff]) });
  await expectError(path, 'CHECKPOINT_UNSUPPORTED_CONTENT', /unsupported pickle opcode 0xff/);
});

test('arbitrary pickle global rejected', async () => {
  // GLOBAL 'os system', ('echo',), REDUCE: must be rejected, never run.
  const body = [
    [0x63, ...ascii('os\nsystem\n')],
    [0x58, 4, 0, 0, 0, ...ascii('echo')],
    [0x85, 0x52],
  ];
  const path = writeArchive('global.pth', { 'archive/data.pkl': pickle(...body) });
  const error = await expectError(path, 'CHECKPOINT_UNSUPPORTED_CONTENT', /os\.system/);
  assert.match(error.hint!, /state_dict/);
});

test('pickle without state dict rejected', async () => {
  const path = writeArchive('no-state.pth', { 'archive/data.pkl': pickle([0x7d]) });
  await expectError(path, 'CHECKPOINT_UNSUPPORTED_CONTENT', /no state dict found/);
});

// {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 2), 0, (2,), (1,), False, OrderedDict())}
const TENSOR_W_PICKLE = [
  [0x7d, 0x28],
  [0x58, 1, 0, 0, 0, ...ascii('w')],
  [0x63, ...ascii('torch._utils\n_rebuild_tensor_v2\n'), 0x28],
  [0x28, 0x58, 7, 0, 0, 0, ...ascii('storage')],
  [0x63, ...ascii('torch\nFloatStorage\n')],
  [0x58, 1, 0, 0, 0, ...ascii('0'), 0x58, 3, 0, 0, 0, ...ascii('cpu'), 0x4b, 2, 0x74, 0x51],
  [0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x89],
  [0x63, ...ascii('collections\nOrderedDict\n'), 0x29, 0x52, 0x74, 0x52, 0x75],
];

test('missing storage entry rejected', async () => {
  const body = TENSOR_W_PICKLE;
  const path = writeArchive('no-storage.pth', { 'archive/data.pkl': pickle(...body) });
  await expectError(path, 'CHECKPOINT_CORRUPT', /storage archive\/data\/0 is missing/);

  const fixed = writeArchive('with-storage.pth', {
    'archive/data.pkl': pickle(...body),
    'archive/data/0': new Uint8Array(new Float32Array([1.5, -2]).buffer),
  });
  const checkpoint = await readPytorchCheckpoint(fixed);
  assert.deepEqual([...(checkpoint.stateDict.get('w')!.data as Float32Array)], [1.5, -2]);
  assert.equal(checkpoint.strippedModulePrefix, false);
  assert.equal(checkpoint.stateDictKey, null);
});

test('big-endian storages decoded', async () => {
  // PyTorch 2.1 and later record the byte order; a big-endian machine writes 'big' and swapped storages.
  const big = new Uint8Array(8);
  new DataView(big.buffer).setFloat32(0, 1.5, false);
  new DataView(big.buffer).setFloat32(4, -2, false);
  const path = writeArchive('big-endian.pth', {
    'archive/data.pkl': pickle(...TENSOR_W_PICKLE),
    'archive/byteorder': new TextEncoder().encode('big'),
    'archive/data/0': big,
  });
  const checkpoint = await readPytorchCheckpoint(path);
  assert.deepEqual([...(checkpoint.stateDict.get('w')!.data as Float32Array)], [1.5, -2]);
});

test('truncated pickle rejected', async () => {
  const path = writeArchive('short-pickle.pth', {
    'archive/data.pkl': new Uint8Array([0x80, 0x02, 0x58, 9, 0, 0]),
  });
  await expectError(path, 'CHECKPOINT_UNSUPPORTED_CONTENT', /ends in the middle of an opcode/);
});

test('first bytes of fixture are a gzip header', () => {
  // Guards the gzip test above: it relies on the shared fixture being gzip, not a zip.
  const fd = openSync(sharedPath('fixtures', 'lilnet-reference', 'malignant-reference.pth.tar.gz'), 'r');
  const head = Buffer.alloc(2);
  readSync(fd, head, 0, 2, 0);
  closeSync(fd);
  assert.deepEqual([...head], [0x1f, 0x8b]);
});
