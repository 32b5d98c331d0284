/**
 * Atomic writes under the data folder: content goes to a temporary sibling first and is renamed into place,
 * so a crash leaves either the old file or the new one, never a partial file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Returns a unique temporary path beside `path`, in the same folder (and so on the same file system). */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `data` to `path` atomically, flushing it to disk before the rename. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporarySibling(path);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/**
 * Moves a finished folder into place at `target`, replacing any folder there. The replaced folder is renamed
 * aside first and removed after, so `target` is never half-written.
 */
export async function replaceFolder(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const aside = temporarySibling(target);
  let hadOld = true;
  try {
    await rename(target, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadOld = false;
  }
  await rename(source, target);
  if (hadOld) await rm(aside, { recursive: true, force: true });
}

/**
 * Removes the temporary siblings (`.<name>.<random>.tmp`) that a crash left in `folder` and its `results/`
 * subfolder. Call it only while no job runs.
 */
export async function sweepTemporaryFiles(folder: string): Promise<number> {
  let removed = 0;
  for (const dir of [folder, join(folder, 'results')]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(name)) {
        await rm(join(dir, name), { recursive: true, force: true });
        removed += 1;
      }
    }
  }
  return removed;
}
