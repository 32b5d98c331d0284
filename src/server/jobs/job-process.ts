/**
 * A job process: the server forks one per job so that reading and diagnosing a case never blocks the HTTP
 * event loop and a crash of the job cannot take the server down. It receives one {@link JobRequest}, reports
 * progress and results as {@link JobMessage}s, and exits when done or when the server goes away.
 */
import { isLilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { ingestCase } from './ingest.ts';
import type { JobMessage, JobRequest } from './messages.ts';

const log = moduleLogger('server.job-process');

function send(message: JobMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, () => resolve());
  });
}

async function run(request: JobRequest): Promise<void> {
  const ingestShare = request.kind === 'ingest' ? 1 : 0.2;
  await send({ type: 'progress', stage: 'ingest', fraction: 0 });
  const { series, ctCase } = await ingestCase(request, (fraction) => {
    void send({ type: 'progress', stage: 'ingest', fraction: fraction * ingestShare });
  });
  await send({
    type: 'ingested',
    series,
    caseWarnings: ctCase.warnings,
    failedFileCount: ctCase.failedFiles.length,
  });
  if (request.kind === 'diagnose') {
    const { runDiagnosis } = await import('./diagnose-stage.ts');
    await runDiagnosis(request, (stage, fraction) => {
      void send({ type: 'progress', stage, fraction: ingestShare + fraction * (1 - ingestShare) });
    });
    await send({ type: 'diagnosed', resultDir: request.resultDir });
  }
  await send({ type: 'done' });
}

// The server's death closes the IPC channel, and a job without its server cannot report its result.
process.on('disconnect', () => process.exit(3));

process.once('message', (request: JobRequest) => {
  run(request)
    .then(() => process.exit(0))
    .catch(async (error: unknown) => {
      if (isLilnetError(error)) {
        await send({ type: 'failed', message: error.message, code: error.code, hint: error.hint });
      } else {
        log.error({ err: error, jobId: request.jobId }, 'job failed');
        await send({ type: 'failed', message: (error as Error)?.message ?? String(error) });
      }
      process.exit(1);
    });
});
