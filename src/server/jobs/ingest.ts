/**
 * The ingest stage of a job: reads the uploaded files with readCase and stores every series for the viewer as
 * one little-endian 16-bit file of slices (`<series id>.bin`, slice z at byte offset z * columns * rows * 2).
 * Hounsfield units and other signed values are stored as int16, display grey levels as uint16, both rounded
 * and clamped to the type's range.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { readCase } from '../../imaging/read-case.ts';
import type { CtCase, Phase, Series } from '../../imaging/volume.ts';
import { replaceFolder, temporarySibling } from '../atomic-file.ts';
import type { JobRequest, ViewerSeries } from './messages.ts';

function toSixteenBit(series: Series, z: number, voxelType: 'int16' | 'uint16'): Buffer {
  const [columns, rows] = series.geometry.dimensions;
  const size = columns * rows;
  const source = series.voxels.subarray(z * size, (z + 1) * size);
  const target = voxelType === 'int16' ? new Int16Array(size) : new Uint16Array(size);
  const min = voxelType === 'int16' ? -32768 : 0;
  const max = voxelType === 'int16' ? 32767 : 65535;
  for (let i = 0; i < size; i += 1) {
    target[i] = Math.min(max, Math.max(min, Math.round(source[i])));
  }
  return Buffer.from(target.buffer, target.byteOffset, target.byteLength);
}

async function writeVolume(path: string, series: Series, voxelType: 'int16' | 'uint16'): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    for (let z = 0; z < series.geometry.dimensions[2]; z += 1) {
      await handle.write(toSixteenBit(series, z, voxelType));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Returns the phase the user gave the upload that contains the series' first file, if any. */
function userPhase(request: JobRequest, series: Series): Phase | null {
  const first = series.sliceFiles[0];
  if (!first) return null;
  const uploadFolder = relative(request.filesDir, first).split(sep)[0];
  const phase = request.uploadPhases[uploadFolder];
  return phase && phase !== 'unknown' ? phase : null;
}

/**
 * Reads the case and writes the viewer folder. Returns the stored series (with user-chosen phases applied)
 * and the case for further stages.
 */
export async function ingestCase(
  request: JobRequest,
  onProgress: (fraction: number) => void,
): Promise<{ ctCase: CtCase; series: ViewerSeries[] }> {
  const ctCase = await readCase(request.filesDir);
  onProgress(0.5);
  const staging = temporarySibling(request.viewerDir);
  await mkdir(staging, { recursive: true });
  const stored: ViewerSeries[] = [];
  try {
    for (const [position, series] of ctCase.series.entries()) {
      const chosen = userPhase(request, series);
      if (chosen) {
        series.phase = chosen;
        series.phaseSource = 'user';
      }
      const voxelType = series.unit === 'grey' ? 'uint16' : 'int16';
      const id = randomUUID();
      await writeVolume(join(staging, `${id}.bin`), series, voxelType);
      stored.push({
        id,
        seriesKey: series.id,
        position,
        phase: series.phase,
        phaseSource: series.phaseSource,
        unit: series.unit,
        voxelType,
        geometry: series.geometry,
        description: series.description,
        fileWindow: series.fileWindow,
        warnings: series.warnings,
      });
      onProgress(0.5 + (0.5 * (position + 1)) / ctCase.series.length);
    }
    await replaceFolder(staging, request.viewerDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { ctCase, series: stored };
}
