/**
 * The server side of background jobs: a queue in the database, run one at a time, each in a forked job process.
 * Job rows outlive the server. At start, jobs left `queued` or `running` by a previous server are marked
 * `interrupted`; they can be started again as new jobs (`rerun_of` links them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LilnetError } from '../../errors.ts';
import type { Phase } from '../../imaging/volume.ts';
import { moduleLogger } from '../../log.ts';
import { dataPaths, type ServerConfig } from '../config.ts';
import type { Db } from '../database.ts';
import { recordResult, replaceSeries } from '../case-store.ts';
import type { JobKind, JobMessage, JobRequest } from './messages.ts';

const log = moduleLogger('server.jobs');
const ENTRY = fileURLToPath(new URL('./job-process-entry.mjs', import.meta.url));

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface JobView {
  id: string;
  caseId: string;
  kind: JobKind;
  status: JobStatus;
  stage: string | null;
  progress: number;
  error: string | null;
  rerunOf: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

function toView(row: Record<string, unknown>): JobView {
  return {
    id: row.id as string,
    caseId: row.case_id as string,
    kind: row.kind as JobKind,
    status: row.status as JobStatus,
    stage: (row.stage as string | null) ?? null,
    progress: row.progress as number,
    error: (row.error as string | null) ?? null,
    rerunOf: (row.rerun_of as string | null) ?? null,
    createdAt: row.created_at as string,
    startedAt: (row.started_at as string | null) ?? null,
    finishedAt: (row.finished_at as string | null) ?? null,
  };
}

export class JobRunner {
  /** The running job: its process, and a promise that settles once its final status is stored. */
  private running: { jobId: string; child: ChildProcess; settled: Promise<void> } | null = null;
  private closed = false;
  private readonly paths;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly config: ServerConfig,
  ) {
    this.paths = dataPaths(config.dataDir);
  }

  /** Marks the jobs that a previous server left unfinished as interrupted; returns how many there were. */
  markInterrupted(): number {
    const info = this.db
      .prepare(
        `UPDATE jobs SET status = 'interrupted', finished_at = ?,
         error = 'the server stopped before the job finished; start it again' WHERE status IN ('queued', 'running')`,
      )
      .run(new Date().toISOString());
    if (info.changes > 0) log.warn({ count: info.changes }, 'marked unfinished jobs as interrupted');
    return info.changes;
  }

  get(jobId: string): JobView | null {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(jobId) as
      Record<string, unknown> | undefined;
    return row ? toView(row) : null;
  }

  listForCase(caseId: string): JobView[] {
    const rows = this.db
      .prepare('SELECT * FROM jobs WHERE case_id = ? ORDER BY created_at DESC, rowid DESC')
      .all(caseId);
    return (rows as Record<string, unknown>[]).map(toView);
  }

  /** Returns the unfinished (queued or running) job of a case, if any. */
  activeJob(caseId: string): JobView | null {
    const row = this.db
      .prepare(`SELECT * FROM jobs WHERE case_id = ? AND status IN ('queued', 'running') LIMIT 1`)
      .get(caseId) as Record<string, unknown> | undefined;
    return row ? toView(row) : null;
  }

  /** Queues a job; a case has at most one unfinished job at a time. */
  enqueue(caseId: string, kind: JobKind, userId: number | null, rerunOf: string | null = null): JobView {
    const active = this.activeJob(caseId);
    if (active) {
      throw new LilnetError('CONFLICT', `case ${caseId} already has a ${active.status} job ${active.id}`, {
        hint: 'wait for that job to finish, then start another',
      });
    }
    const id = randomUUID();
    this.db
      .prepare(
        `INSERT INTO jobs (id, case_id, kind, status, progress, rerun_of, created_by, created_at)
         VALUES (?, ?, ?, 'queued', 0, ?, ?, ?)`,
      )
      .run(id, caseId, kind, rerunOf, userId, new Date().toISOString());
    log.info({ jobId: id, caseId, kind }, 'job queued');
    setImmediate(() => this.startNext());
    return this.get(id)!;
  }

  /** Starts an interrupted or failed job again as a new job of the same kind. */
  rerun(jobId: string, userId: number | null): JobView {
    const job = this.get(jobId);
    if (!job)
      throw new LilnetError('NOT_FOUND', `job ${jobId} not found`, { hint: 'list the jobs of the case' });
    if (job.status !== 'interrupted' && job.status !== 'failed') {
      throw new LilnetError(
        'CONFLICT',
        `job ${jobId} is ${job.status}; only interrupted or failed jobs can be rerun`,
        {
          hint: 'start a new job instead',
        },
      );
    }
    return this.enqueue(job.caseId, job.kind, userId, job.id);
  }

  /** Resolves when no job is running or queued. */
  whenIdle(): Promise<void> {
    if (!this.running && !this.nextQueued()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the running job process (its job is marked interrupted) and accepts no more jobs. */
  async close(): Promise<void> {
    this.closed = true;
    const current = this.running;
    if (!current) return;
    current.child.kill('SIGTERM');
    // Wait until the job's final status is written, so the database is not closed under it.
    await current.settled;
  }

  private nextQueued(): JobView | null {
    const row = this.db
      .prepare(`SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 1`)
      .get() as Record<string, unknown> | undefined;
    return row ? toView(row) : null;
  }

  private update(jobId: string, fields: Record<string, unknown>): void {
    const names = Object.keys(fields);
    const assignments = names.map((name) => `${name} = @${name}`).join(', ');
    this.db.prepare(`UPDATE jobs SET ${assignments} WHERE id = @id`).run({ ...fields, id: jobId });
  }

  private startNext(): void {
    if (this.running || this.closed) return;
    const job = this.nextQueued();
    if (!job) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    const uploads = this.db.prepare('SELECT id, phase FROM uploads WHERE case_id = ?').all(job.caseId) as {
      id: number;
      phase: Phase;
    }[];
    const request: JobRequest = {
      jobId: job.id,
      kind: job.kind,
      caseId: job.caseId,
      filesDir: this.paths.caseFiles(job.caseId),
      uploadPhases: Object.fromEntries(uploads.map((u) => [`u${u.id}`, u.phase])),
      viewerDir: this.paths.viewer(job.caseId),
      resultDir: this.paths.result(job.caseId, job.id),
      modelsDir: this.config.modelsDir,
    };
    this.update(job.id, { status: 'running', started_at: new Date().toISOString(), stage: 'starting' });
    const child = fork(ENTRY, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let markSettled = () => {};
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    this.running = { jobId: job.id, child, settled };
    log.info({ jobId: job.id, caseId: job.caseId, kind: job.kind, pid: child.pid }, 'job started');
    let outcome: { status: JobStatus; error: string | null } | null = null;
    let pending = Promise.resolve();

    child.on('message', (message: JobMessage) => {
      pending = pending
        .then(() => this.handleMessage(job, message))
        .then(
          (result) => {
            if (result) outcome = result;
          },
          (error: unknown) => {
            log.error({ err: error, jobId: job.id }, 'storing a job result failed');
            outcome = { status: 'failed', error: `storing the result failed: ${(error as Error).message}` };
          },
        );
    });
    child.once('exit', (code, signal) => {
      void pending.then(() => {
        const final =
          outcome ??
          (this.closed
            ? {
                status: 'interrupted' as const,
                error: 'the server stopped before the job finished; start it again',
              }
            : {
                status: 'failed' as const,
                error: `the job process exited with ${signal ?? `code ${code}`}`,
              });
        try {
          this.update(job.id, {
            status: final.status,
            error: final.error,
            finished_at: new Date().toISOString(),
            ...(final.status === 'succeeded' ? { progress: 1, stage: 'done' } : {}),
          });
          log.info({ jobId: job.id, status: final.status }, 'job finished');
        } catch (error) {
          log.error({ err: error, jobId: job.id }, 'storing the final job status failed');
        } finally {
          this.running = null;
          markSettled();
        }
        this.startNext();
      });
    });
    child.send(request);
  }

  private async handleMessage(
    job: JobView,
    message: JobMessage,
  ): Promise<{ status: JobStatus; error: string | null } | null> {
    switch (message.type) {
      case 'progress':
        this.update(job.id, { stage: message.stage, progress: Math.max(0, Math.min(1, message.fraction)) });
        return null;
      case 'ingested':
        replaceSeries(this.db, job.caseId, message.series);
        return null;
      case 'diagnosed': {
        const report = JSON.parse(await readFile(join(message.resultDir, 'report.json'), 'utf8'));
        recordResult(this.db, job.caseId, job.id, message.resultDir, report);
        return null;
      }
      case 'failed':
        log.warn({ jobId: job.id, code: message.code }, 'job reported a failure');
        return {
          status: 'failed',
          error: message.hint ? `${message.message} (${message.hint})` : message.message,
        };
      case 'done':
        return { status: 'succeeded', error: null };
    }
  }
}
