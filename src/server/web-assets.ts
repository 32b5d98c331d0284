/**
 * The browser application: web/src/main.ts is bundled by esbuild once at server start and kept in memory;
 * web/index.html and web/app.css are served as they are. Nothing is fetched from other hosts.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';

export const WEB_ROOT = resolve(fileURLToPath(new URL('../../web', import.meta.url)));

export interface WebAssets {
  indexHtml: Buffer;
  appJs: string;
  appCss: Buffer;
}

export async function buildWebAssets(): Promise<WebAssets> {
  const bundle = await build({
    entryPoints: [join(WEB_ROOT, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
  });
  return {
    indexHtml: await readFile(join(WEB_ROOT, 'index.html')),
    appJs: bundle.outputFiles[0].text,
    appCss: await readFile(join(WEB_ROOT, 'app.css')),
  };
}

export function registerWebRoutes(app: FastifyInstance, assets: WebAssets): void {
  const options = { config: { public: true }, schema: { hide: true } };
  app.get('/', options, async (_request, reply) =>
    reply
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .send(assets.indexHtml),
  );
  app.get('/app.js', options, async (_request, reply) =>
    reply
      .header('Content-Type', 'text/javascript; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .send(assets.appJs),
  );
  // Browsers request a favicon on their own. An empty 204 response keeps a 404 out of their consoles.
  app.get('/favicon.ico', options, async (_request, reply) => reply.status(204).send());
  app.get('/app.css', options, async (_request, reply) =>
    reply
      .header('Content-Type', 'text/css; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .send(assets.appCss),
  );
}
