// The README's first command: generates one synthetic three-phase phantom CT study as DICOM, then diagnoses it
// with the bundled demo models. Everything is written under out/demo/.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const outDir = join('out', 'demo');
const lilnet = (args) => {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`lilnet ${args[0]} failed with exit status ${result.status}`);
    process.exit(result.status ?? 1);
  }
};

rmSync(outDir, { recursive: true, force: true });
lilnet([
  'synth',
  '--out',
  join(outDir, 'synth'),
  '--patients',
  '1',
  '--seed',
  '7',
  '--slices',
  '40',
  '--outputs',
  'dicom',
]);

const casesDir = join(outDir, 'synth', 'cases');
const [caseName] = readdirSync(casesDir);
const reportDir = join(outDir, 'report');
lilnet(['diagnose', join(casesDir, caseName), '--out', reportDir]);

console.log(
  `\nReport: ${join(reportDir, 'report.html')} (also report.json and overlays/ in the same folder).`,
);
console.log('The case and the demo models are synthetic: the result shows the pipeline, not a diagnosis.');
