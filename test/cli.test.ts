import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('lilnet --help lists the command', () => {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', '--help'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Usage: lilnet/);
});

test('lilnet rejects an unknown command', () => {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', 'no-such-command'], { encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /unknown command|too many arguments/);
});
