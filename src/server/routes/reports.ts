/** Diagnosis reports (JSON, HTML) and overlay images of the newest result of a case. */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LilnetError } from '../../errors.ts';
import { getCase, latestResult } from '../case-store.ts';
import { CASE_ID_PARAMS, type ServerContext } from '../context.ts';
import { REPORT_CSP, requireSession } from '../security.ts';

const OVERLAY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.png$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function registerReportRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, audit, paths } = context;

  type ReportRequest = FastifyRequest<{ Params: { caseId: string }; Querystring: { download?: boolean } }>;

  /** Reads report.json or report.html of the newest result, records the read, and sets the download name. */
  async function readLatestReport(request: ReportRequest, reply: FastifyReply, format: 'json' | 'html') {
    const session = requireSession(request);
    const { caseId } = request.params;
    getCase(db, caseId);
    const result = latestResult(db, caseId);
    const body = await readFile(join(paths.result(caseId, result.jobId), `report.${format}`));
    audit.record({
      action: 'report-read',
      user: session.user,
      caseId,
      detail: { resultId: result.id, format },
    });
    if (request.query.download) {
      reply.header('Content-Disposition', `attachment; filename="lilnet-report-${caseId}.${format}"`);
    }
    return body;
  }

  app.get<{ Params: { caseId: string }; Querystring: { download?: boolean } }>(
    '/api/cases/:caseId/report',
    {
      schema: {
        tags: ['reports'],
        summary:
          'The newest diagnosis report of a case (report.json); `download=true` sends it as an attachment',
        params: CASE_ID_PARAMS,
        querystring: { type: 'object', properties: { download: { type: 'boolean', default: false } } },
      },
    },
    async (request, reply) => {
      const body = await readLatestReport(request, reply, 'json');
      return reply.header('Content-Type', 'application/json; charset=utf-8').send(body);
    },
  );

  app.get<{ Params: { caseId: string }; Querystring: { download?: boolean } }>(
    '/api/cases/:caseId/report.html',
    {
      schema: {
        tags: ['reports'],
        summary: 'The newest report as HTML (no scripts; print it to PDF from the browser)',
        params: CASE_ID_PARAMS,
        querystring: { type: 'object', properties: { download: { type: 'boolean', default: false } } },
      },
    },
    async (request, reply) => {
      const body = await readLatestReport(request, reply, 'html');
      return reply
        .header('Content-Type', 'text/html; charset=utf-8')
        .header('Content-Security-Policy', REPORT_CSP)
        .send(body);
    },
  );

  app.get<{ Params: { caseId: string; file: string } }>(
    '/api/cases/:caseId/overlays/:file',
    {
      schema: {
        tags: ['reports'],
        summary: 'One overlay image (PNG) of the newest report, by the file name the report gives',
        params: {
          type: 'object',
          required: ['caseId', 'file'],
          properties: {
            caseId: { type: 'string', format: 'uuid' },
            file: { type: 'string', maxLength: 205 },
          },
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const { caseId, file } = request.params;
      if (!OVERLAY_NAME.test(file)) {
        throw new LilnetError('INVALID_ARGUMENT', `invalid overlay name ${JSON.stringify(file)}`, {
          hint: 'use a PNG file name from the overlays of the report',
        });
      }
      getCase(db, caseId);
      const result = latestResult(db, caseId);
      const path = join(paths.result(caseId, result.jobId), 'overlays', file);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) {
        throw new LilnetError(
          'NOT_FOUND',
          `overlay ${file} not found in the newest result of case ${caseId}`,
          {
            hint: 'take overlay names from the report',
          },
        );
      }
      const head = Buffer.alloc(8);
      const handle = await open(path, 'r');
      await handle.read(head, 0, 8, 0).finally(() => handle.close());
      if (!head.equals(PNG_SIGNATURE)) {
        throw new LilnetError('INTERNAL', `overlay ${file} is not a PNG file`, {
          hint: 'run the diagnosis again',
        });
      }
      audit.recordSliceRead(session.tokenHash, {
        action: 'overlay-read',
        user: session.user,
        caseId,
        detail: { seriesId: `overlays:${result.id}` },
        remoteAddress: request.ip,
      });
      return reply
        .header('Content-Type', 'image/png')
        .header('Cache-Control', 'private, no-cache')
        .send(createReadStream(path));
    },
  );
}
