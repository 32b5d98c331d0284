import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readPytorchCheckpoint } from '../../src/nn/checkpoint/pytorch-reader.ts';
import { LilnetError } from '../../src/errors.ts';

// These checkpoints are written by PyTorch itself (Debian's python3-torch through /usr/bin/python3), so they
// cover what torch.save really emits: views with storage offsets, transposed strides, shared storages,
// every common dtype, pickle protocol 4 and the legacy format. CI does not install python3-torch.
const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const skip = probe.status === 0 ? false : `${PYTHON} cannot import torch and numpy (install python3-torch)`;

const WRITER = `
import sys, torch, numpy, collections
out = sys.argv[1]
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
sd['module.plain'] = torch.randn(3, 5)
sd['module.transposed'] = base.t()                 # strides (1, 6)
sd['module.row_view'] = base[2]                    # storage offset 12, shared storage
sd['module.column_view'] = base[:, 1]              # offset 1, stride 6
sd['module.sliced'] = base[1:3, ::2]               # offset 6, strides (6, 2)
sd['module.scalar'] = torch.tensor(2.5, dtype=torch.float64)
sd['module.half'] = torch.tensor([1.0, -0.5, 65504.0, 6.1e-5], dtype=torch.float16)
sd['module.bf16'] = torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16)
sd['module.long'] = torch.tensor([-(2**40), 7], dtype=torch.int64)
sd['module.int'] = torch.tensor([[1, -2], [3, 4]], dtype=torch.int32)
sd['module.uint8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
sd['module.bool'] = torch.tensor([True, False, True])
sd['module.param'] = torch.nn.Parameter(torch.ones(2, 2))
torch.save({'epoch': 7, 'auc': numpy.float64(0.8125), 'acc': 0.75, 'state_dict': sd,
            'note': 'run-1', 'steps': [1, 2.5, None, True]}, out + '/full.pth.tar')
torch.save(collections.OrderedDict(w=torch.randn(2, 3), b=torch.zeros(3)), out + '/bare.pth', pickle_protocol=4)
torch.save({'state_dict': collections.OrderedDict(w=torch.ones(2))}, out + '/legacy.pth',
           _use_new_zipfile_serialization=False)
torch.save(torch.nn.Linear(2, 2), out + '/module.pth')
flat = {k: v.detach().double().flatten().tolist() for k, v in sd.items()}
import json
print(json.dumps({k: [float(x) for x in v] for k, v in flat.items()}))
`;

let dir: string;
let expected: Record<string, number[]> = {};

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'lilnet-torch-written-'));
  const result = spawnSync(PYTHON, ['-c', WRITER, dir], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  expected = JSON.parse(result.stdout) as Record<string, number[]>;
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('torch-written views and dtypes', { skip }, async () => {
  const checkpoint = await readPytorchCheckpoint(join(dir, 'full.pth.tar'));
  assert.equal(checkpoint.strippedModulePrefix, true);
  assert.equal(checkpoint.stateDict.size, Object.keys(expected).length);
  for (const [key, values] of Object.entries(expected)) {
    const entry = checkpoint.stateDict.get(key.slice('module.'.length));
    assert.ok(entry, `${key} present`);
    const actual = [...entry.data].map((v) => Number(v));
    assert.deepEqual(actual, values, key);
  }
});

test('torch-written shapes and dtypes', { skip }, async () => {
  const { stateDict } = await readPytorchCheckpoint(join(dir, 'full.pth.tar'));
  const cases: [string, number[], string, string][] = [
    ['transposed', [6, 4], 'float32', 'Float32Array'],
    ['sliced', [2, 3], 'float32', 'Float32Array'],
    ['scalar', [], 'float64', 'Float64Array'],
    ['half', [4], 'float16', 'Float32Array'],
    ['bf16', [3], 'bfloat16', 'Float32Array'],
    ['long', [2], 'int64', 'BigInt64Array'],
    ['int', [2, 2], 'int32', 'Int32Array'],
    ['uint8', [3], 'uint8', 'Int32Array'],
    ['bool', [3], 'bool', 'Int32Array'],
    ['param', [2, 2], 'float32', 'Float32Array'],
  ];
  for (const [name, shape, dtype, arrayType] of cases) {
    const entry = stateDict.get(name)!;
    assert.deepEqual(entry.shape, shape, name);
    assert.equal(entry.dtype, dtype, name);
    assert.equal(entry.data.constructor.name, arrayType, name);
  }
});

test('torch-written metadata', { skip }, async () => {
  const { meta, stateDictKey } = await readPytorchCheckpoint(join(dir, 'full.pth.tar'));
  assert.equal(stateDictKey, 'state_dict');
  assert.equal(meta.epoch, 7);
  assert.equal(meta.auc, 0.8125);
  assert.equal(meta.acc, 0.75);
  assert.equal(meta.note, 'run-1');
  assert.deepEqual(meta.steps, [1, 2.5, null, true]);
});

test('torch-written bare state dict protocol 4', { skip }, async () => {
  const checkpoint = await readPytorchCheckpoint(join(dir, 'bare.pth'));
  assert.equal(checkpoint.stateDictKey, null);
  assert.equal(checkpoint.strippedModulePrefix, false);
  assert.deepEqual(checkpoint.stateDict.get('w')?.shape, [2, 3]);
  assert.deepEqual([...checkpoint.stateDict.get('b')!.data], [0, 0, 0]);
});

test('torch-written legacy file rejected', { skip }, async () => {
  const path = join(dir, 'legacy.pth');
  const error = await readPytorchCheckpoint(path).catch((e: unknown) => e);
  assert.ok(error instanceof LilnetError);
  assert.equal(error.code, 'CHECKPOINT_LEGACY_FORMAT');
  assert.match(error.message, /legacy/);
});

test('torch-written whole module rejected', { skip }, async () => {
  const error = await readPytorchCheckpoint(join(dir, 'module.pth')).catch((e: unknown) => e);
  assert.ok(error instanceof LilnetError);
  assert.equal(error.code, 'CHECKPOINT_UNSUPPORTED_CONTENT');
  assert.match(error.message, /torch\.nn\.modules\.linear\.Linear|_rebuild|calls/);
});
