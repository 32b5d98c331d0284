/**
 * `lilnet serve`: the HTTP API and the clinician's web application. Listens on loopback unless --host sets
 * another address. `--init-admin <name>` creates the first admin account before serving, with the password taken
 * from LILNET_ADMIN_PASSWORD or read from stdin.
 */
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { startServer } from '../../server/app.ts';
import { AuditLog } from '../../server/audit.ts';
import { dataPaths, defaultConfig, type ServerConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/database.ts';
import { createUser } from '../../server/users.ts';

const log = moduleLogger('cli.serve');
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

interface ServeOptions {
  port: string;
  host: string;
  data: string;
  models?: string;
  initAdmin?: string;
  allowedOrigin: string[];
  secureCookies?: boolean;
  maxFileMb: string;
  maxFiles: string;
  maxUploadMb: string;
  json?: boolean;
}

function positiveInteger(value: string, option: string, allowZero = false): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    throw new LilnetError('INVALID_ARGUMENT', `invalid ${option} ${JSON.stringify(value)}`, {
      hint: `give a whole number${allowZero ? '' : ' above 0'}`,
    });
  }
  return number;
}

/** Reads the initial admin password from LILNET_ADMIN_PASSWORD, or the first line of stdin (not echoed on a terminal). */
async function readAdminPassword(): Promise<string> {
  const fromEnvironment = process.env.LILNET_ADMIN_PASSWORD;
  if (fromEnvironment) return fromEnvironment;
  const terminal = process.stdin.isTTY === true;
  if (terminal) process.stderr.write('password for the new admin: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    if (terminal) process.stderr.write('\n');
    return line;
  }
  throw new LilnetError('INVALID_ARGUMENT', 'no password given for --init-admin', {
    hint: 'set LILNET_ADMIN_PASSWORD or pipe the password on stdin',
  });
}

/** Checks an --allowed-origin value: scheme, host and optional port, nothing more. */
function parseOrigin(value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== value.replace(/\/$/, '')) {
    throw new LilnetError('INVALID_ARGUMENT', `invalid --allowed-origin ${JSON.stringify(value)}`, {
      hint: 'give scheme, host and optional port only, e.g. https://lilnet.hospital.example',
    });
  }
  return url.origin;
}

function configFrom(options: ServeOptions): ServerConfig {
  return defaultConfig({
    host: options.host,
    port: positiveInteger(options.port, '--port', true),
    dataDir: resolve(options.data),
    modelsDir: options.models ? resolve(options.models) : undefined,
    secureCookies: options.secureCookies === true,
    allowedOrigins: options.allowedOrigin.map(parseOrigin),
    limits: {
      maxFileBytes: positiveInteger(options.maxFileMb, '--max-file-mb') * 1024 * 1024,
      maxFilesPerRequest: positiveInteger(options.maxFiles, '--max-files'),
      maxRequestBytes: positiveInteger(options.maxUploadMb, '--max-upload-mb') * 1024 * 1024,
      maxZipEntries: 5000,
    },
  });
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API and the web application')
    .option('--port <port>', 'TCP port to listen on (0 picks a free port)', '8080')
    .option(
      '--host <host>',
      'address to listen on; anything but loopback exposes the server to the network',
      '127.0.0.1',
    )
    .option('--data <dir>', 'data folder: database, uploaded cases and results', 'lilnet-data')
    .option('--models <dir>', 'models folder given to the diagnosis (default: the bundled demo models)')
    .option(
      '--init-admin <name>',
      'create this admin account first; password from LILNET_ADMIN_PASSWORD or stdin',
    )
    .option(
      '--allowed-origin <origin>',
      'extra origin allowed to send state-changing requests (repeatable)',
      (v, all: string[]) => [...all, v],
      [],
    )
    .option('--secure-cookies', 'mark session cookies Secure (behind a TLS proxy)')
    .option('--max-file-mb <mebibytes>', 'maximum size of one uploaded file, in MiB', '1024')
    .option('--max-files <count>', 'maximum number of files in one upload request', '2000')
    .option(
      '--max-upload-mb <mebibytes>',
      'maximum size of one upload request, zips counted unpacked, in MiB',
      '4096',
    )
    .option('--json', 'print the listening address as one JSON document on stdout')
    .action(async (options: ServeOptions) => {
      const config = configFrom(options);
      if (options.initAdmin) {
        const password = await readAdminPassword();
        await mkdir(config.dataDir, { recursive: true });
        const db = openDatabase(dataPaths(config.dataDir).database);
        try {
          await createUser(db, options.initAdmin, password, 'admin');
          new AuditLog(db).record({
            action: 'user-create',
            detail: { created: options.initAdmin, role: 'admin', by: 'command line' },
          });
        } finally {
          db.close();
        }
        process.stderr.write(`lilnet: created admin account ${options.initAdmin}\n`);
      }
      if (!LOOPBACK_HOSTS.has(config.host)) {
        log.warn(
          { host: config.host },
          'listening beyond loopback: put a TLS proxy in front and use --secure-cookies',
        );
      }
      const server = await startServer(config);
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ url: server.url, dataDir: config.dataDir })}\n`
          : `lilnet serving on ${server.url}\n`,
      );
      await new Promise<void>((resolveStop) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping server');
          server.close().then(resolveStop, (error: unknown) => {
            log.error({ err: error }, 'stopping the server failed');
            resolveStop();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
