/** Cases: list, create, read, delete, upload files, and the series and slices of the viewer. */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LilnetError } from '../../errors.ts';
import { PHASES, type Phase } from '../../imaging/volume.ts';
import {
  addUpload,
  createCase,
  deleteCase,
  getCase,
  getSeries,
  listCases,
  listSeries,
  listUploads,
  removeUpload,
} from '../case-store.ts';
import { CASE_ID_PARAMS, type ServerContext } from '../context.ts';
import { requireSession } from '../security.ts';
import { stageUpload } from '../upload.ts';

const UPLOAD_PHASES: readonly Phase[] = [...PHASES, 'unknown'];
/** Folder name of an upload's files per phase; readCase may read the phase from it. */
const PHASE_FOLDER: Record<Phase, string> = { NC: 'NC', AP: 'AP', PVP: 'PVP', DP: 'DP', unknown: 'series' };

export function registerCaseRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, audit, jobs, paths, config } = context;

  app.get(
    '/api/cases',
    { schema: { tags: ['cases'], summary: 'List cases, newest first' } },
    async (request) => {
      const session = requireSession(request);
      audit.record({ action: 'case-list', user: session.user, remoteAddress: request.ip });
      return { cases: listCases(db) };
    },
  );

  app.post<{ Body: { label: string } }>(
    '/api/cases',
    {
      schema: {
        tags: ['cases'],
        summary: 'Create an empty case',
        description: 'The label is free text for the clinician; never put a patient name or ID in it.',
        body: {
          type: 'object',
          required: ['label'],
          additionalProperties: false,
          properties: { label: { type: 'string', minLength: 1, maxLength: 120 } },
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const caseId = createCase(db, request.body.label, session.user.id);
      await mkdir(paths.caseFiles(caseId), { recursive: true });
      audit.record({ action: 'case-create', user: session.user, caseId, remoteAddress: request.ip });
      return reply.status(201).send(getCase(db, caseId));
    },
  );

  app.get<{ Params: { caseId: string } }>(
    '/api/cases/:caseId',
    {
      schema: {
        tags: ['cases'],
        summary: 'A case with its uploads, series and jobs',
        params: CASE_ID_PARAMS,
      },
    },
    async (request) => {
      const session = requireSession(request);
      const { caseId } = request.params;
      const view = getCase(db, caseId);
      audit.record({ action: 'case-read', user: session.user, caseId, remoteAddress: request.ip });
      return {
        ...view,
        uploads: listUploads(db, caseId),
        series: listSeries(db, caseId),
        jobs: jobs.listForCase(caseId),
      };
    },
  );

  app.delete<{ Params: { caseId: string } }>(
    '/api/cases/:caseId',
    {
      schema: {
        tags: ['cases'],
        summary: 'Delete a case with its files and results',
        params: CASE_ID_PARAMS,
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const { caseId } = request.params;
      getCase(db, caseId);
      const active = jobs.activeJob(caseId);
      if (active) {
        throw new LilnetError('CONFLICT', `case ${caseId} has a ${active.status} job ${active.id}`, {
          hint: 'wait for the job to finish, then delete the case',
        });
      }
      deleteCase(db, caseId);
      await rm(paths.caseDir(caseId), { recursive: true, force: true });
      audit.record({ action: 'case-delete', user: session.user, caseId, remoteAddress: request.ip });
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { caseId: string }; Querystring: { phase?: Phase } }>(
    '/api/cases/:caseId/uploads',
    {
      schema: {
        tags: ['cases'],
        summary: 'Upload the files of one phase: DICOM files, a zip of them, NIfTI, or PNG/JPEG slice images',
        description:
          'multipart/form-data with one or more file fields. Every file is checked by content; the whole upload ' +
          'is rejected (and nothing stored) if one file is invalid or a limit is exceeded.',
        params: CASE_ID_PARAMS,
        querystring: {
          type: 'object',
          properties: { phase: { type: 'string', enum: [...UPLOAD_PHASES], default: 'unknown' } },
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const { caseId } = request.params;
      const phase = request.query.phase ?? 'unknown';
      getCase(db, caseId);
      if (jobs.activeJob(caseId)) {
        throw new LilnetError('CONFLICT', `case ${caseId} has a job in progress`, {
          hint: 'wait for the job to finish before uploading more files',
        });
      }
      if (!request.isMultipart()) {
        throw new LilnetError('UPLOAD_INVALID', 'the upload is not multipart/form-data', {
          hint: 'send the files as multipart/form-data file fields',
        });
      }
      const staged = await stageUpload(request.files(), paths.staging, config.limits);
      const uploadId = addUpload(db, caseId, phase, staged.fileCount, staged.byteCount);
      const target = join(paths.caseFiles(caseId), `u${uploadId}`, PHASE_FOLDER[phase]);
      try {
        await mkdir(join(paths.caseFiles(caseId), `u${uploadId}`), { recursive: true });
        await rename(staged.folder, target);
      } catch (error) {
        removeUpload(db, uploadId);
        await rm(staged.folder, { recursive: true, force: true });
        throw error;
      }
      audit.record({
        action: 'case-upload',
        user: session.user,
        caseId,
        detail: {
          uploadId,
          phase,
          fileCount: staged.fileCount,
          byteCount: staged.byteCount,
          kinds: staged.kinds,
        },
        remoteAddress: request.ip,
      });
      return reply.status(201).send({
        id: uploadId,
        phase,
        fileCount: staged.fileCount,
        byteCount: staged.byteCount,
        kinds: staged.kinds,
      });
    },
  );

  app.get<{ Params: { caseId: string } }>(
    '/api/cases/:caseId/series',
    {
      schema: {
        tags: ['viewer'],
        summary: 'The series of a case as stored for the viewer',
        params: CASE_ID_PARAMS,
      },
    },
    async (request) => {
      const session = requireSession(request);
      const { caseId } = request.params;
      getCase(db, caseId);
      audit.record({ action: 'series-list', user: session.user, caseId, remoteAddress: request.ip });
      return { series: listSeries(db, caseId) };
    },
  );

  app.get<{ Params: { caseId: string; seriesId: string; z: number } }>(
    '/api/cases/:caseId/series/:seriesId/slices/:z',
    {
      schema: {
        tags: ['viewer'],
        summary:
          'One slice as raw little-endian 16-bit values (Hounsfield units as int16, grey levels as uint16)',
        description:
          'Row by row, columns * rows values. Headers X-Voxel-Type, X-Columns and X-Rows describe the body. ' +
          'The content of a series id never changes, so the response may be cached.',
        params: {
          type: 'object',
          required: ['caseId', 'seriesId', 'z'],
          properties: {
            caseId: { type: 'string', format: 'uuid' },
            seriesId: { type: 'string', format: 'uuid' },
            z: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const { caseId, seriesId, z } = request.params;
      const series = getSeries(db, caseId, seriesId);
      const [columns, rows, slices] = series.geometry.dimensions;
      if (z >= slices) {
        throw new LilnetError(
          'NOT_FOUND',
          `slice ${z} is out of range: series ${seriesId} has ${slices} slices`,
          {
            hint: `ask for a slice index from 0 to ${slices - 1}`,
          },
        );
      }
      const sliceBytes = columns * rows * 2;
      const buffer = Buffer.alloc(sliceBytes);
      const handle = await open(join(paths.viewer(caseId), `${seriesId}.bin`), 'r');
      try {
        await handle.read(buffer, 0, sliceBytes, z * sliceBytes);
      } finally {
        await handle.close();
      }
      audit.recordSliceRead(session.tokenHash, {
        action: 'slice-read',
        user: session.user,
        caseId,
        detail: { seriesId },
        remoteAddress: request.ip,
      });
      return reply
        .header('Content-Type', 'application/octet-stream')
        .header('Cache-Control', 'private, max-age=86400, immutable')
        .header('X-Voxel-Type', series.voxelType)
        .header('X-Columns', String(columns))
        .header('X-Rows', String(rows))
        .send(buffer);
    },
  );
}
