/** The shared state that every route module receives. */
import type { AuditLog } from './audit.ts';
import { dataPaths, type ServerConfig } from './config.ts';
import type { Db } from './database.ts';
import type { JobRunner } from './jobs/job-runner.ts';

export interface ServerContext {
  db: Db;
  config: ServerConfig;
  audit: AuditLog;
  jobs: JobRunner;
  paths: ReturnType<typeof dataPaths>;
}

/** JSON schema of the `{ error: { code, message, hint } }` body every failed request returns. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        hint: { type: ['string', 'null'] },
      },
    },
  },
} as const;

export const CASE_ID_PARAMS = {
  type: 'object',
  required: ['caseId'],
  properties: { caseId: { type: 'string', format: 'uuid' } },
} as const;
