// Runs benchmarks one after another and prints their figures.
// Usage: node scripts/run-benchmarks.mjs [substring filter ...]   (no filter: every bench/*.bench.ts)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const filters = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort()
  .map((name) => join('bench', name));
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; the files are in bench/`);
  process.exit(1);
}
let failures = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (result.status !== 0) {
    failures += 1;
    console.error(`${file} exited with status ${result.status}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
