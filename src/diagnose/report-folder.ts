/**
 * Creates and checks the output folder of a diagnosis before any work is done, so that a folder that cannot be
 * written fails at once with a clear error rather than after detection and classification.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { outputFolderError, prepareOutputFolder } from '../output-folder.ts';

/** Wraps a file-system failure while writing the report as an `OUTPUT_FOLDER_FAILED` error naming `outDir`. */
export function reportOutputError(outDir: string, error: unknown): Error {
  return outputFolderError(outDir, error);
}

/**
 * Creates `outDir` (with its parents) and checks that it can be written. Throws `OUTPUT_FOLDER_FAILED` when it
 * cannot. An earlier report in the folder is left as it is until the new one is written.
 */
export async function prepareReportFolder(outDir: string): Promise<void> {
  prepareOutputFolder(outDir);
}

/** Empties `<outDir>/overlays/`, whose files from an earlier report would otherwise sit beside the new ones. */
export async function clearOverlaysFolder(outDir: string): Promise<void> {
  try {
    await rm(join(outDir, 'overlays'), { recursive: true, force: true });
    await mkdir(join(outDir, 'overlays'), { recursive: true });
  } catch (error) {
    throw outputFolderError(outDir, error);
  }
}
