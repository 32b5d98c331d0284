/**
 * Time to load an uncompressed CT series: 200 slices of 512 x 512, explicit VR little endian, written with the
 * synthetic DICOM writer into a temporary folder, then read with `readCase` (parse, rescale to HU, sort, stack).
 * The first read warms up the module loading and the file cache. The median wall time and CPU time of the
 * following runs are printed.
 *
 * Usage: node --import tsx bench/load-dicom-series.bench.ts [slices] [runs]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeriesDicom } from '../src/imaging/dicom/writer.ts';
import { readCase } from '../src/imaging/read-case.ts';

const slices = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 5);
const size = 512;

const folder = await mkdtemp(join(tmpdir(), 'lilnet-bench-dicom-'));
try {
  const hounsfieldUnits = new Float32Array(size * size * slices);
  for (let i = 0; i < hounsfieldUnits.length; i++) hounsfieldUnits[i] = ((i * 7919) % 2000) - 1000;
  const writeStart = performance.now();
  await writeCtSeriesDicom(folder, {
    patientId: 'BENCH-001',
    patientName: 'BENCHMARK^SERIES',
    columns: size,
    rows: size,
    slices,
    hounsfieldUnits,
    pixelSpacingMm: [0.7, 0.7],
    sliceSpacingMm: 1,
    // Reverse InstanceNumber so sorting by position does real work.
    instanceNumbers: Array.from({ length: slices }, (_, z) => slices - z),
  });
  const writeMs = performance.now() - writeStart;

  await readCase(folder);
  const timesMs: number[] = [];
  const cpuTimesMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const ctCase = await readCase(folder);
    timesMs.push(performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    cpuTimesMs.push((cpu.user + cpu.system) / 1000);
    if (ctCase.series[0].geometry.dimensions[2] !== slices)
      throw new Error('the benchmark series lost slices');
  }
  timesMs.sort((a, b) => a - b);
  cpuTimesMs.sort((a, b) => a - b);
  const medianMs = timesMs[Math.floor(timesMs.length / 2)];
  const medianCpuMs = cpuTimesMs[Math.floor(cpuTimesMs.length / 2)];
  const megabytes = (slices * size * size * 2) / 1e6;
  console.log(
    `series: ${slices} slices of ${size} x ${size}, int16, explicit VR little endian (${megabytes.toFixed(0)} MB)`,
  );
  console.log(`write (synthetic writer): ${writeMs.toFixed(0)} ms`);
  console.log(
    `readCase: median ${medianMs.toFixed(0)} ms, min ${timesMs[0].toFixed(0)} ms, max ${timesMs[timesMs.length - 1].toFixed(0)} ms over ${runs} runs`,
  );
  // CPU time varies less than wall time when other processes share the cores.
  console.log(`readCase CPU time (user + system, all threads): median ${medianCpuMs.toFixed(0)} ms`);
  console.log(`throughput: ${((megabytes / medianMs) * 1000).toFixed(0)} MB/s of pixel data`);
} finally {
  await rm(folder, { recursive: true, force: true });
}
