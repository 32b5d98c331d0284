/** Messages between the server and a job process (node:child_process IPC). */
import type { DisplayWindow, Phase, PhaseSource, VoxelUnit, VolumeGeometry } from '../../imaging/volume.ts';

export type JobKind = 'ingest' | 'diagnose';
export const JOB_KINDS: readonly JobKind[] = ['ingest', 'diagnose'];

/** The request the server sends to a fresh job process. */
export interface JobRequest {
  jobId: string;
  kind: JobKind;
  caseId: string;
  /** Folder of uploaded files (readCase input). */
  filesDir: string;
  /** Upload folder name (`u<id>`) to the phase the user chose for it. */
  uploadPhases: Record<string, Phase>;
  /** Final viewer folder; the process writes a sibling and replaces it. */
  viewerDir: string;
  /** Final result folder of a diagnose job. */
  resultDir: string;
  modelsDir?: string;
}

/** The stored description of one series of the viewer. */
export interface ViewerSeries {
  id: string;
  seriesKey: string;
  position: number;
  phase: Phase;
  phaseSource: PhaseSource;
  unit: VoxelUnit;
  voxelType: 'int16' | 'uint16';
  geometry: VolumeGeometry;
  description?: string;
  fileWindow?: DisplayWindow;
  warnings: string[];
}

export type JobMessage =
  | { type: 'progress'; stage: string; fraction: number }
  | { type: 'ingested'; series: ViewerSeries[]; caseWarnings: string[]; failedFileCount: number }
  | { type: 'diagnosed'; resultDir: string }
  | { type: 'failed'; message: string; code?: string; hint?: string }
  | { type: 'done' };
