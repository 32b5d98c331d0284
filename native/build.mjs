// Builds the libtorch addon (native/build/Release/lilnet_torch.node). Run by `npm install` through the root
// package's `install` script, and by hand with `node native/build.mjs [--rebuild]`.
//
// libtorch is taken from the LIBTORCH environment variable (a directory with include/ and lib/, such as an
// unpacked libtorch download) or else from Debian's libtorch-dev under /usr. Without libtorch the script prints
// what to install and exits 0, so that the rest of the project still installs; set LILNET_REQUIRE_TORCH=1 to
// make a missing libtorch or a failed build fail the install.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const addonPath = join(nativeDir, 'build', 'Release', 'lilnet_torch.node');
const required = process.env.LILNET_REQUIRE_TORCH === '1';
const rebuild = process.argv.includes('--rebuild');

function fail(message) {
  console.error(`lilnet: ${message}`);
  process.exit(required ? 1 : 0);
}

function findLibtorch() {
  const root = process.env.LIBTORCH;
  if (root) {
    const base = resolve(root);
    const header = join(base, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h');
    if (!existsSync(header)) {
      fail(`LIBTORCH=${root} has no include/torch/csrc/api/include/torch/torch.h; point it at an unpacked libtorch.`);
    }
    return {
      includeDirs: [join(base, 'include'), join(base, 'include', 'torch', 'csrc', 'api', 'include')],
      libDir: join(base, 'lib'),
      description: base,
    };
  }
  const debianHeader = '/usr/include/torch/csrc/api/include/torch/torch.h';
  if (!existsSync(debianHeader)) {
    fail(
      'libtorch not found, so the training engine (native addon) was not built. Install it with ' +
        '`apt-get install libtorch-dev libopenblas0-pthread` or set LIBTORCH to an unpacked libtorch, ' +
        'then run `node native/build.mjs`.',
    );
  }
  return { includeDirs: ['/usr/include', '/usr/include/torch/csrc/api/include'], libDir: '', description: 'Debian libtorch-dev' };
}

function newestSourceTime() {
  const files = [join(nativeDir, 'binding.gyp'), join(nativeDir, 'build.mjs')];
  for (const name of readdirSync(join(nativeDir, 'src'))) files.push(join(nativeDir, 'src', name));
  return Math.max(...files.map((file) => statSync(file).mtimeMs));
}

const libtorch = findLibtorch();
if (!rebuild && existsSync(addonPath) && statSync(addonPath).mtimeMs > newestSourceTime()) {
  console.error(`lilnet: the libtorch addon is up to date (${addonPath})`);
  process.exit(0);
}

// node-gyp downloads Node's headers unless told where they are; a Node installed with its headers (Debian,
// the official tarballs) has them under <prefix>/include/node, which needs no network.
const nodePrefix = resolve(dirname(process.execPath), '..');
const nodeDirArgs = existsSync(join(nodePrefix, 'include', 'node', 'node.h')) ? [`--nodedir=${nodePrefix}`] : [];
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const gypVariables = [
  `-Dlibtorch_include_dirs=${libtorch.includeDirs.join(' ')}`,
  `-Dlibtorch_lib_dir=${libtorch.libDir}`,
];

console.error(`lilnet: building the libtorch addon against ${libtorch.description} (takes a minute or two)`);
const jobs = process.env.JOBS ?? '2';
const result = spawnSync(
  process.execPath,
  [nodeGyp, 'rebuild', `--jobs=${jobs}`, ...nodeDirArgs, '--', ...gypVariables],
  { cwd: nativeDir, stdio: ['ignore', 'inherit', 'inherit'] },
);
if (result.status !== 0) {
  fail(`building the libtorch addon failed (node-gyp exit status ${result.status}); see the compiler output above.`);
}
console.error(`lilnet: built ${addonPath}`);
