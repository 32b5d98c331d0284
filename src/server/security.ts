/**
 * Request guards and response headers: the session cookie, the CSRF check on state-changing requests (a token
 * bound to the session in the `X-CSRF-Token` header, plus an Origin check), and the headers that keep uploaded
 * content passive (nosniff, a strict Content-Security-Policy).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LilnetError } from '../errors.ts';
import type { ServerConfig } from './config.ts';
import type { Db } from './database.ts';
import { findSession, type Role, type Session } from './users.ts';

export const SESSION_COOKIE = 'lilnet_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Policy of the application pages: scripts, styles and images from this server only. */
export const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'";
/** Policy of stored reports: no scripts at all, only inline styles and images of this server. */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; " +
  "form-action 'none'; sandbox allow-same-origin allow-modals";

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
  }
  interface FastifyContextConfig {
    /** True for routes that need no session (sign-in, health, the OpenAPI document). */
    public?: boolean;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Returns the origin of the server as the request addressed it (scheme, Host header). */
function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? ''}`;
}

/** Throws CSRF_REJECTED when a state-changing request comes from another site. */
function checkOrigin(request: FastifyRequest, config: ServerConfig): void {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (origin !== ownOrigin(request) && !config.allowedOrigins.includes(origin)) {
      throw new LilnetError('CSRF_REJECTED', `request from origin ${origin} rejected`, {
        hint: `send state-changing requests from ${ownOrigin(request)} or add the origin with --allowed-origin`,
      });
    }
    return;
  }
  // Browsers that omit Origin still send Sec-Fetch-Site; non-browser clients send neither.
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw new LilnetError('CSRF_REJECTED', `cross-site request (Sec-Fetch-Site: ${fetchSite}) rejected`, {
      hint: 'use the lilnet web application on this server',
    });
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Returns the host name of a Host header value, without the port. */
function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0];
}

export function registerSecurity(app: FastifyInstance, db: Db, config: ServerConfig): void {
  app.decorateRequest('session', null);

  // A server on loopback answers only to loopback host names. A web page whose own name an attacker has pointed
  // at 127.0.0.1 (DNS rebinding) sends its own name in Host, and is rejected here.
  if (LOOPBACK_HOSTS.has(config.host)) {
    const allowed = new Set(config.allowedOrigins.map((origin) => hostName(new URL(origin).host)));
    app.addHook('onRequest', async (request) => {
      const name = hostName(request.headers.host ?? '');
      if (!LOOPBACK_HOSTS.has(name) && !allowed.has(name)) {
        throw new LilnetError(
          'CSRF_REJECTED',
          `request for host ${JSON.stringify(name)} rejected by a loopback server`,
          {
            hint: 'open the application at http://127.0.0.1 or http://localhost, or add the origin with --allowed-origin',
          },
        );
      }
    });
  }

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const token = request.cookies[SESSION_COOKIE];
    request.session = token ? findSession(db, token) : null;
    const isPublic = request.routeOptions.config?.public === true;
    const stateChanging = !SAFE_METHODS.has(request.method);
    if (stateChanging) checkOrigin(request, config);
    if (isPublic) return;
    if (!request.session) {
      throw new LilnetError('UNAUTHENTICATED', 'sign-in required', {
        hint: 'sign in with POST /api/auth/login and send the session cookie',
      });
    }
    if (stateChanging) {
      const header = request.headers[CSRF_HEADER];
      if (typeof header !== 'string' || !sameText(header, request.session.csrfToken)) {
        throw new LilnetError('CSRF_REJECTED', 'missing or wrong X-CSRF-Token header', {
          hint: 'send the csrfToken from POST /api/auth/login or GET /api/auth/session in the X-CSRF-Token header',
        });
      }
    }
  });

  app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', APP_CSP);
    if (!reply.hasHeader('X-Frame-Options')) reply.header('X-Frame-Options', 'SAMEORIGIN');
    if (request.url.startsWith('/api/') && !reply.hasHeader('Cache-Control'))
      reply.header('Cache-Control', 'no-store');
    return payload;
  });
}

/** Returns the session of a guarded route (the onRequest hook has already rejected requests without one). */
export function requireSession(request: FastifyRequest, role?: Role): Session {
  const session = request.session;
  if (!session) throw new LilnetError('UNAUTHENTICATED', 'sign-in required', { hint: 'sign in first' });
  if (role && session.user.role !== role) {
    throw new LilnetError('FORBIDDEN', `user ${session.user.name} is not an ${role}`, {
      hint: `ask an ${role} to do this`,
    });
  }
  return session;
}
