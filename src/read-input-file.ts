/** Reading a user's input file with an error that names it and says what to check. */
import { readFile } from 'node:fs/promises';
import { LilnetError } from './errors.ts';

/** Reads a whole file; raises FILE_NOT_FOUND or FILE_UNREADABLE naming the file. */
export async function readInputFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    throw new LilnetError(code, `cannot read ${file}: ${(error as Error).message}`, {
      file,
      hint: 'check the path and its permissions',
      cause: error,
    });
  }
}
