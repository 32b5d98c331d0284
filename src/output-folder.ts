/**
 * Creating the output folders that commands write into (a diagnosis report, detection overlays, a synthetic
 * dataset), with a clear `OUTPUT_FOLDER_FAILED` error in place of a raw file-system error when that fails.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { LilnetError } from './errors.ts';

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

/** Wraps a file-system failure while writing into `dir` as an `OUTPUT_FOLDER_FAILED` error naming `dir`. */
export function outputFolderError(dir: string, error: unknown, option = '--out'): LilnetError {
  const reason = reasonOf(error as NodeJS.ErrnoException);
  return new LilnetError('OUTPUT_FOLDER_FAILED', `cannot write into ${resolve(dir)}: ${reason}`, {
    file: dir,
    hint: `pass ${option} a folder you can write to (it is created if missing)`,
    cause: error,
  });
}

/**
 * Creates `dir` with its parents and checks that it can be written. Throws `OUTPUT_FOLDER_FAILED` when it
 * cannot; `option` names the command-line option in the hint.
 */
export function prepareOutputFolder(dir: string, option = '--out'): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw outputFolderError(dir, error, option);
  }
}
