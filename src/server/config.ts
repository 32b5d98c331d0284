/** Settings of one server instance, with the defaults `lilnet serve` uses. */
import { join } from 'node:path';

export interface UploadLimits {
  /** Maximum size of one uploaded file, in bytes. */
  maxFileBytes: number;
  /** Maximum number of files in one upload request (a zip counts as one file here). */
  maxFilesPerRequest: number;
  /** Maximum sum of uploaded bytes in one request, including the unpacked size of zips. */
  maxRequestBytes: number;
  /** Maximum number of entries in one zip. */
  maxZipEntries: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Folder of the database, the uploaded cases and the results. */
  dataDir: string;
  /** Folder of models given to diagnoseCase; its default is the bundled demo models. */
  modelsDir?: string;
  sessionLifetimeMs: number;
  limits: UploadLimits;
  /** Mark cookies `Secure`; set it when a TLS proxy serves the application. */
  secureCookies: boolean;
  /** Extra origins (scheme://host:port) allowed to send state-changing requests, e.g. a TLS proxy's. */
  allowedOrigins: string[];
}

export const DEFAULT_LIMITS: UploadLimits = {
  maxFileBytes: 1024 ** 3,
  maxFilesPerRequest: 2000,
  maxRequestBytes: 4 * 1024 ** 3,
  maxZipEntries: 5000,
};

export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: join(process.cwd(), 'lilnet-data'),
    sessionLifetimeMs: 12 * 60 * 60 * 1000,
    secureCookies: false,
    allowedOrigins: [],
    ...overrides,
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
  };
}

/** Paths inside the data folder. */
export function dataPaths(dataDir: string) {
  return {
    database: join(dataDir, 'lilnet.sqlite'),
    cases: join(dataDir, 'cases'),
    staging: join(dataDir, 'staging'),
    caseDir: (caseId: string) => join(dataDir, 'cases', caseId),
    /** The files as uploaded, `files/u<upload>/<phase folder>/...`; this folder is what readCase reads. */
    caseFiles: (caseId: string) => join(dataDir, 'cases', caseId, 'files'),
    viewer: (caseId: string) => join(dataDir, 'cases', caseId, 'viewer'),
    result: (caseId: string, jobId: string) => join(dataDir, 'cases', caseId, 'results', jobId),
  };
}
