/** The diagnosis stage of a job: runs diagnoseCase into a temporary folder and moves it into place. */
import { rm } from 'node:fs/promises';
import { diagnoseCase } from '../../diagnose/diagnose-case.ts';
import { replaceFolder, temporarySibling } from '../atomic-file.ts';
import type { JobRequest } from './messages.ts';

export async function runDiagnosis(
  request: JobRequest,
  onProgress: (stage: string, fraction: number) => void,
): Promise<void> {
  const outDir = temporarySibling(request.resultDir);
  try {
    await diagnoseCase(request.filesDir, { outDir, modelsDir: request.modelsDir, onProgress });
    await replaceFolder(outDir, request.resultDir);
  } catch (error) {
    await rm(outDir, { recursive: true, force: true });
    throw error;
  }
}
