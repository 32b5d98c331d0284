/** Maps errors to HTTP responses `{ error: { code, message, hint } }` with a fitting status code. */
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isLilnetError, type ErrorCode } from '../errors.ts';
import { moduleLogger } from '../log.ts';

const log = moduleLogger('server.http');

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UPLOAD_INVALID: 400,
  UNSUPPORTED_FORMAT: 400,
  UNAUTHENTICATED: 401,
  LOGIN_FAILED: 401,
  FORBIDDEN: 403,
  CSRF_REJECTED: 403,
  NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  CONFLICT: 409,
  UPLOAD_TOO_LARGE: 413,
  LOGIN_RATE_LIMITED: 429,
};

/** Fastify and plugin error codes that mean the upload was too large, with the message to send. */
const LIMIT_ERRORS: Record<string, string> = {
  FST_REQ_FILE_TOO_LARGE: 'an uploaded file exceeds the per-file size limit',
  FST_FILES_LIMIT: 'the upload has more files than the per-request limit',
  FST_PARTS_LIMIT: 'the upload has more parts than the per-request limit',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body exceeds the size limit',
};

/** Longest time spent reading and discarding the rest of a rejected request body. */
const DISCARD_TIMEOUT_MS = 120_000;

/**
 * Reads and discards the unread rest of a request body, up to `maxBytes`. Returns false when the body was
 * larger, the time ran out, or the connection failed, so the caller closes the connection instead.
 *
 * Browsers read the response to an upload only after sending the whole body. A server that rejects an upload
 * early and stops reading leaves the browser waiting forever, with its upload progress stuck.
 */
export function discardRequestBody(raw: IncomingMessage, maxBytes: number): Promise<boolean> {
  if (raw.complete || raw.destroyed || raw.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let bytes = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onFailure);
      raw.off('close', onFailure);
      if (!drained) raw.pause();
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFailure = () => finish(raw.complete);
    const timer = setTimeout(() => finish(false), DISCARD_TIMEOUT_MS);
    // A multipart parser may still be piped from the request and would stop the flow when it stops reading.
    raw.unpipe();
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onFailure);
    raw.once('close', onFailure);
    raw.resume();
  });
}

/**
 * Sends every error as `{ error: { code, message, hint } }`. A request body not read to its end (an upload
 * rejected early) is read and discarded first, up to `maxDiscardBytes`, so that browsers see the error.
 */
export function registerErrorHandler(
  app: FastifyInstance,
  limitsHint: string,
  maxDiscardBytes: number,
): void {
  // Unknown paths get the same error body as every other failure, so API clients parse one format.
  app.setNotFoundHandler(async (request, reply) => {
    if (!(await discardRequestBody(request.raw, maxDiscardBytes))) reply.header('Connection', 'close');
    const path = request.url.split('?')[0].slice(0, 200);
    return reply.status(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no endpoint ${request.method} ${path}`,
        hint: 'see the API document at /docs/json',
      },
    });
  });
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (!(await discardRequestBody(request.raw, maxDiscardBytes))) reply.header('Connection', 'close');
    if (isLilnetError(error)) {
      const status = STATUS_BY_CODE[error.code] ?? 500;
      if (status >= 500) log.error({ err: error, url: request.url }, 'request failed');
      else log.debug({ code: error.code, url: request.url }, 'request rejected');
      return reply
        .status(status)
        .send({ error: { code: error.code, message: error.message, hint: error.hint ?? null } });
    }
    const limitMessage = error.code ? LIMIT_ERRORS[error.code] : undefined;
    if (limitMessage) {
      return reply
        .status(413)
        .send({ error: { code: 'UPLOAD_TOO_LARGE', message: limitMessage, hint: limitsHint } });
    }
    if (error.validation || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return reply.status(error.statusCode ?? 400).send({
        error: {
          code: 'INVALID_ARGUMENT',
          message: error.message,
          hint: 'see the API document at /docs/json',
        },
      });
    }
    log.error({ err: error, url: request.url }, 'request failed');
    return reply
      .status(500)
      .send({ error: { code: 'INTERNAL', message: 'internal server error', hint: 'see the server log' } });
  });
}
