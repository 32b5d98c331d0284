import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '../helpers/shared.ts';

const BUILD_SCRIPT = join(REPOSITORY_ROOT, 'native', 'build.mjs');

function runBuild(env: Record<string, string>) {
  return spawnSync(process.execPath, [BUILD_SCRIPT], { encoding: 'utf8', env: { ...process.env, ...env } });
}

test('npm install runs the addon build', () => {
  const manifest = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(manifest.scripts.install, 'node native/build.mjs');
});

test('build explains a wrong LIBTORCH and lets the install go on', () => {
  const result = runBuild({ LIBTORCH: '/nonexistent/libtorch', LILNET_REQUIRE_TORCH: '' });
  assert.equal(result.status, 0);
  assert.match(result.stderr, /LIBTORCH=\/nonexistent\/libtorch has no include\/torch/);
  assert.match(result.stderr, /point it at an unpacked libtorch/);
});

test('build fails on a wrong LIBTORCH when torch is required', () => {
  const result = runBuild({ LIBTORCH: '/nonexistent/libtorch', LILNET_REQUIRE_TORCH: '1' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /LIBTORCH=\/nonexistent\/libtorch/);
});

test('build skips an up-to-date addon', () => {
  const result = runBuild({ LIBTORCH: '' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /libtorch addon is up to date/);
});
