/**
 * Locates the read-only shared material (real DICOM files, CT slices, reference checkpoints) that sits beside
 * the checkout as `../shared`. Tests read it in place; nothing from it is copied into the repository.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHARED_ROOT = process.env.LILNET_SHARED_DIR ?? resolve(REPOSITORY_ROOT, '..', 'shared');

/** Returns the absolute path of a file under the shared folder, failing clearly when it is absent. */
export function sharedPath(...parts: string[]): string {
  const path = join(SHARED_ROOT, ...parts);
  if (!existsSync(path)) {
    throw new Error(
      `shared test input ${path} not found: the tests expect the shared folder beside the checkout ` +
        `(or set LILNET_SHARED_DIR)`,
    );
  }
  return path;
}
