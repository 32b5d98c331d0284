/**
 * Creates and checks the output folder of a diagnosis before any work is done, so that a folder that cannot be
 * written fails at once with a clear error rather than after detection and classification.
 */
import { constants } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LilnetError } from '../errors.ts';

function reasonOf(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file is in the way (the path or one of its parent folders is a file, not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return error.message;
  }
}

/** Wraps a file-system failure while writing the report as a `REPORT_OUTPUT_FAILED` error naming `outDir`. */
export function reportOutputError(outDir: string, error: unknown): LilnetError {
  const reason = reasonOf(error as NodeJS.ErrnoException);
  return new LilnetError('REPORT_OUTPUT_FAILED', `cannot write the report into ${resolve(outDir)}: ${reason}`, {
    file: outDir,
    hint: 'pass --out a folder you can write to (it is created if missing)',
    cause: error,
  });
}

/**
 * Creates `outDir` (with its parents) and checks that it can be written. Throws `REPORT_OUTPUT_FAILED` when it
 * cannot. An earlier report in the folder is left as it is until the new one is written.
 */
export async function prepareReportFolder(outDir: string): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true });
    await access(outDir, constants.W_OK);
  } catch (error) {
    throw reportOutputError(outDir, error);
  }
}

/** Empties `<outDir>/overlays/`, whose files from an earlier report would otherwise sit beside the new ones. */
export async function clearOverlaysFolder(outDir: string): Promise<void> {
  try {
    await rm(join(outDir, 'overlays'), { recursive: true, force: true });
    await mkdir(join(outDir, 'overlays'), { recursive: true });
  } catch (error) {
    throw reportOutputError(outDir, error);
  }
}
