/** Shared inputs of the libtorch tests: the reference fixture, the PyTorch oracle and comparison helpers. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { REPOSITORY_ROOT, sharedPath } from '../helpers/shared.ts';

export const REFERENCE_DIR = ['fixtures', 'lilnet-reference'];

/** Reads the six reference inputs, `[6, 3, 224, 224]` float32. */
export function readReferenceInputs(): Float32Array {
  const bytes = readFileSync(sharedPath(...REFERENCE_DIR, 'inputs-nchw-float32.bin'));
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export function readReferenceJson<T>(name: string): T {
  return JSON.parse(readFileSync(sharedPath(...REFERENCE_DIR, name), 'utf8')) as T;
}

/** Gunzips the reference checkpoint into a new temporary folder; returns its path and a cleanup function. */
export function unpackReferenceCheckpoint(): { path: string; cleanup: () => void } {
  const folder = mkdtempSync(join(tmpdir(), 'lilnet-reference-'));
  const path = join(folder, 'malignant-reference.pth.tar');
  writeFileSync(
    path,
    gunzipSync(readFileSync(sharedPath(...REFERENCE_DIR, 'malignant-reference.pth.tar.gz'))),
  );
  return { path, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

export function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} differs from ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

export function relativeDifference(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
}

export const ORACLE_SCRIPT = join(REPOSITORY_ROOT, 'scripts', 'oracle', 'lilnet_torch.py');
const DEBIAN_PYTHON = '/usr/bin/python3';

/** Null when Debian's Python with torch runs; otherwise the reason, for skipping oracle tests. */
export function pytorchOracleUnavailable(): string | null {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `the PyTorch oracle needs ${DEBIAN_PYTHON} with python3-torch`;
}

/** Runs the PyTorch oracle and parses the JSON document it prints. */
export function runPytorchOracle<T>(args: string[]): T {
  const result = spawnSync(DEBIAN_PYTHON, [ORACLE_SCRIPT, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`PyTorch oracle failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
