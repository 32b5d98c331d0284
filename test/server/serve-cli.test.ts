import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function serve(args: string[], env: Record<string, string> = {}, input = '') {
  const environment = { ...process.env, ...env };
  if (!('LILNET_ADMIN_PASSWORD' in env)) delete environment.LILNET_ADMIN_PASSWORD;
  return spawnSync(process.execPath, ['bin/lilnet.js', 'serve', '--port', '0', ...args], {
    encoding: 'utf8',
    env: environment,
    input,
    timeout: 60_000,
  });
}

test('serve rejects an invalid allowed origin', () => {
  const result = serve(['--allowed-origin', 'https://x.example/path']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /INVALID_ARGUMENT.*--allowed-origin/);
});

test('serve rejects a bad port', () => {
  const result = serve(['--port', 'eighty']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /invalid --port "eighty"/);
});

test('init-admin needs a password', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lilnet-serve-cli-'));
  try {
    const missing = serve(['--data', dataDir, '--init-admin', 'admin']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no password given for --init-admin/);
    const short = serve(['--data', dataDir, '--init-admin', 'admin'], {}, 'short\n');
    assert.equal(short.status, 1);
    assert.match(short.stderr, /fewer than 10/);
    const badName = serve(['--data', dataDir, '--init-admin', 'bad name!'], {
      LILNET_ADMIN_PASSWORD: 'long enough password',
    });
    assert.equal(badName.status, 1);
    assert.match(badName.stderr, /invalid user name/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
