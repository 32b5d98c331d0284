/** Background jobs: start, follow, rerun, and read what they produced. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LilnetError } from '../../errors.ts';
import { getCase, listSeries, listUploads } from '../case-store.ts';
import { CASE_ID_PARAMS, type ServerContext } from '../context.ts';
import { JOB_KINDS, type JobKind } from '../jobs/messages.ts';
import type { JobView } from '../jobs/job-runner.ts';
import { requireSession } from '../security.ts';

const JOB_ID_PARAMS = {
  type: 'object',
  required: ['jobId'],
  properties: { jobId: { type: 'string', format: 'uuid' } },
} as const;

export function registerJobRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, audit, jobs, paths } = context;

  function findJob(jobId: string): JobView {
    const job = jobs.get(jobId);
    if (!job)
      throw new LilnetError('NOT_FOUND', `job ${jobId} not found`, { hint: 'list the jobs of a case' });
    return job;
  }

  app.post<{ Params: { caseId: string }; Body: { kind: JobKind } }>(
    '/api/cases/:caseId/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Start a job: `ingest` reads the uploads for the viewer, `diagnose` also runs the diagnosis',
        params: CASE_ID_PARAMS,
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: [...JOB_KINDS] } },
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const { caseId } = request.params;
      getCase(db, caseId);
      if (listUploads(db, caseId).length === 0) {
        throw new LilnetError('CONFLICT', `case ${caseId} has no uploaded files`, {
          hint: 'upload files with POST /api/cases/{caseId}/uploads first',
        });
      }
      const job = jobs.enqueue(caseId, request.body.kind, session.user.id);
      audit.record({
        action: 'job-start',
        user: session.user,
        caseId,
        detail: { jobId: job.id, kind: job.kind },
      });
      return reply.status(202).send(job);
    },
  );

  app.get<{ Params: { caseId: string } }>(
    '/api/cases/:caseId/jobs',
    { schema: { tags: ['jobs'], summary: 'The jobs of a case, newest first', params: CASE_ID_PARAMS } },
    async (request) => {
      const session = requireSession(request);
      getCase(db, request.params.caseId);
      audit.record({
        action: 'job-list',
        user: session.user,
        caseId: request.params.caseId,
        remoteAddress: request.ip,
      });
      return { jobs: jobs.listForCase(request.params.caseId) };
    },
  );

  app.get<{ Params: { jobId: string } }>(
    '/api/jobs/:jobId',
    { schema: { tags: ['jobs'], summary: 'Status and progress of a job', params: JOB_ID_PARAMS } },
    async (request) => {
      const session = requireSession(request);
      const job = findJob(request.params.jobId);
      audit.recordSliceRead(session.tokenHash, {
        action: 'job-read',
        user: session.user,
        caseId: job.caseId,
        detail: { seriesId: `job:${job.id}` },
        remoteAddress: request.ip,
      });
      return job;
    },
  );

  app.post<{ Params: { jobId: string } }>(
    '/api/jobs/:jobId/rerun',
    {
      schema: { tags: ['jobs'], summary: 'Start an interrupted or failed job again', params: JOB_ID_PARAMS },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const job = jobs.rerun(request.params.jobId, session.user.id);
      audit.record({
        action: 'job-rerun',
        user: session.user,
        caseId: job.caseId,
        detail: { jobId: job.id, rerunOf: job.rerunOf },
      });
      return reply.status(202).send(job);
    },
  );

  app.get<{ Params: { jobId: string } }>(
    '/api/jobs/:jobId/result',
    {
      schema: {
        tags: ['jobs'],
        summary: 'What a succeeded job produced: the series of an ingest, the report of a diagnosis',
        params: JOB_ID_PARAMS,
      },
    },
    async (request) => {
      const session = requireSession(request);
      const job = findJob(request.params.jobId);
      if (job.status !== 'succeeded') {
        throw new LilnetError('CONFLICT', `job ${job.id} is ${job.status}, so it has no result`, {
          hint:
            job.status === 'running' || job.status === 'queued'
              ? 'poll GET /api/jobs/{jobId} until it succeeds'
              : 'rerun the job',
        });
      }
      audit.record({
        action: 'result-read',
        user: session.user,
        caseId: job.caseId,
        detail: { jobId: job.id },
      });
      if (job.kind === 'ingest') return { kind: 'ingest', series: listSeries(db, job.caseId) };
      const report = JSON.parse(
        await readFile(join(paths.result(job.caseId, job.id), 'report.json'), 'utf8'),
      );
      return { kind: 'diagnose', report };
    },
  );
}
