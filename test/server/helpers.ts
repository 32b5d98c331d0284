/** A real lilnet server on loopback with a fresh data folder, and a small HTTP client that keeps the session. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type LilnetServer } from '../../src/server/app.ts';
import { defaultConfig, type ServerConfig } from '../../src/server/config.ts';
import { createUser } from '../../src/server/users.ts';

export const ADMIN = { name: 'admin', password: 'correct horse battery' };

export interface TestServer {
  server: LilnetServer;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilnet-server-test-'));
  const server = await startServer(defaultConfig({ host: '127.0.0.1', port: 0, dataDir, ...overrides }));
  await createUser(server.context.db, ADMIN.name, ADMIN.password, 'admin');
  return {
    server,
    url: server.url,
    dataDir,
    async stop() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  bytes: Buffer;
}

export class ApiClient {
  cookie = '';
  csrfToken = '';

  constructor(readonly baseUrl: string) {}

  async request(
    method: string,
    path: string,
    options: { json?: unknown; form?: FormData; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (options.csrf !== false && this.csrfToken && method !== 'GET')
      headers['x-csrf-token'] = this.csrfToken;
    let body: string | FormData | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      body = options.form;
    }
    const response = await fetch(this.baseUrl + path, { method, headers, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const type = response.headers.get('content-type') ?? '';
    const parsed =
      type.startsWith('application/json') && bytes.length > 0
        ? JSON.parse(bytes.toString('utf8'))
        : bytes.toString('utf8');
    return { status: response.status, headers: response.headers, body: parsed, bytes };
  }

  async login(name = ADMIN.name, password = ADMIN.password): Promise<ApiResponse> {
    const response = await this.request('POST', '/api/auth/login', { json: { name, password } });
    const setCookie = response.headers.get('set-cookie');
    if (response.status === 200 && setCookie) {
      this.cookie = setCookie.split(';')[0];
      this.csrfToken = response.body.csrfToken;
    }
    return response;
  }

  /** Polls a job until it is no longer queued or running. */
  async waitForJob(jobId: string, timeoutMs = 120_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await this.request('GET', `/api/jobs/${jobId}`);
      if (response.status !== 200) throw new Error(`job ${jobId}: HTTP ${response.status}`);
      if (response.body.status !== 'queued' && response.body.status !== 'running') return response.body;
      if (Date.now() > deadline)
        throw new Error(`job ${jobId} still ${response.body.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Builds a multipart form of files given as [name, bytes]. */
export function filesForm(files: [string, Uint8Array][]): FormData {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('files', new Blob([bytes as Uint8Array<ArrayBuffer>]), name);
  return form;
}
