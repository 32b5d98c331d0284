/**
 * Builds the lilnet HTTP server: storage, security hooks, API routes, the OpenAPI document at /docs/json and
 * the browser application. `startServer` also listens and returns a handle to stop it.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import { moduleLogger } from '../log.ts';
import { sweepTemporaryFiles } from './atomic-file.ts';
import { AuditLog } from './audit.ts';
import { dataPaths, type ServerConfig } from './config.ts';
import type { ServerContext } from './context.ts';
import { openDatabase, schemaVersion } from './database.ts';
import { registerErrorHandler } from './http-errors.ts';
import { JobRunner } from './jobs/job-runner.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerCaseRoutes } from './routes/cases.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerReportRoutes } from './routes/reports.ts';
import { registerSecurity } from './security.ts';
import { deleteExpiredSessions } from './users.ts';
import { buildWebAssets, registerWebRoutes } from './web-assets.ts';

const log = moduleLogger('server');

export interface LilnetServer {
  app: FastifyInstance;
  context: ServerContext;
  /** The address the server listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  close(): Promise<void>;
}

/** Opens the data folder and builds the Fastify instance without listening. */
export async function buildServer(
  config: ServerConfig,
): Promise<{ app: FastifyInstance; context: ServerContext }> {
  const paths = dataPaths(config.dataDir);
  await mkdir(paths.cases, { recursive: true });
  // Staging contains half-received uploads only, so whatever a previous run left there is incomplete.
  await rm(paths.staging, { recursive: true, force: true });
  await mkdir(paths.staging, { recursive: true });

  const db = openDatabase(paths.database);
  deleteExpiredSessions(db);
  const jobs = new JobRunner(db, config);
  jobs.markInterrupted();
  // Jobs killed with the previous server may have left half-written viewer or result folders behind.
  let swept = 0;
  for (const caseId of await readdir(paths.cases)) swept += await sweepTemporaryFiles(paths.caseDir(caseId));
  if (swept > 0) log.warn({ count: swept }, 'removed temporary folders of interrupted jobs');
  const context: ServerContext = { db, config, audit: new AuditLog(db), jobs, paths };

  const app = Fastify({
    loggerInstance: moduleLogger('server.http') as FastifyBaseLogger,
    // Request lines are off: slice reads while scrolling would flood the log. Errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: config.limits.maxFileBytes,
      files: config.limits.maxFilesPerRequest,
      parts: config.limits.maxFilesPerRequest + 10,
      fields: 10,
    },
    throwFileSizeLimit: true,
    // Keeps the folders of a folder upload (`series-2/IM0001`): DICOM exports reuse file names across series.
    preservePath: true,
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'lilnet API',
        version: '0.1.0',
        description:
          'Cases, uploads, background jobs and diagnosis reports of lilnet. Sign in with POST /api/auth/login; ' +
          'state-changing requests need the X-CSRF-Token header from that response.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'lilnet_session' },
          csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
        },
      },
      security: [{ session: [], csrf: [] }],
    },
  });

  registerErrorHandler(
    app,
    `limits: ${config.limits.maxFileBytes} bytes per file, ${config.limits.maxFilesPerRequest} files and ` +
      `${config.limits.maxRequestBytes} bytes per upload; split the case into several uploads`,
    config.limits.maxRequestBytes,
  );
  registerSecurity(app, db, config);
  registerAuthRoutes(app, context);
  registerCaseRoutes(app, context);
  registerJobRoutes(app, context);
  registerReportRoutes(app, context);
  registerWebRoutes(app, await buildWebAssets());

  app.get(
    '/api/health',
    { config: { public: true }, schema: { tags: ['health'], summary: 'Liveness and schema version' } },
    async () => ({
      status: 'ok',
      schemaVersion: schemaVersion(db),
    }),
  );
  app.get('/docs/json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  app.addHook('onClose', async () => {
    await jobs.close();
    db.close();
  });
  return { app, context };
}

/** Builds the server and listens on the configured host and port (port 0 picks a free one). */
export async function startServer(config: ServerConfig): Promise<LilnetServer> {
  const { app, context } = await buildServer(config);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  log.info({ url, dataDir: config.dataDir }, 'server listening');
  return { app, context, url, close: () => app.close() };
}
