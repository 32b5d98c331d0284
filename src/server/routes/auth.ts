/** Sign-in, sign-out, the current session, and account management for admins. */
import type { FastifyInstance } from 'fastify';
import { LilnetError } from '../../errors.ts';
import type { ServerContext } from '../context.ts';
import { LoginThrottle } from '../login-throttle.ts';
import { requireSession, SESSION_COOKIE } from '../security.ts';
import { authenticate, createSession, createUser, deleteSession, listUsers, type Role } from '../users.ts';

const USER_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' }, role: { type: 'string' } },
} as const;

export function registerAuthRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, config, audit } = context;
  const throttle = new LoginThrottle();

  app.post<{ Body: { name: string; password: string } }>(
    '/api/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the httpOnly session cookie and returns the CSRF token',
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 64 },
            password: { type: 'string', maxLength: 1024 },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        throttle.check(request.body.name, request.ip);
      } catch (error) {
        audit.record({
          action: 'login-throttled',
          detail: { name: request.body.name },
          remoteAddress: request.ip,
        });
        throw error;
      }
      const user = await authenticate(db, request.body.name, request.body.password);
      if (!user) {
        throttle.recordFailure(request.body.name, request.ip);
        audit.record({
          action: 'login-failed',
          detail: { name: request.body.name },
          remoteAddress: request.ip,
        });
        throw new LilnetError('LOGIN_FAILED', 'wrong user name or password', {
          hint: 'check both; an admin can create accounts with POST /api/users',
        });
      }
      throttle.recordSuccess(request.body.name, request.ip);
      const { token, session } = createSession(db, user, config.sessionLifetimeMs);
      audit.record({ action: 'login', user, remoteAddress: request.ip });
      reply.setCookie(SESSION_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: config.secureCookies,
        maxAge: Math.floor(config.sessionLifetimeMs / 1000),
      });
      return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );

  app.post(
    '/api/auth/logout',
    { schema: { tags: ['auth'], summary: 'Sign out and end the session' } },
    async (request, reply) => {
      const session = requireSession(request);
      deleteSession(db, session.tokenHash);
      audit.record({ action: 'logout', user: session.user, remoteAddress: request.ip });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/auth/session',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user and the CSRF token; all null without a valid session',
      },
    },
    async (request) => {
      const session = request.session;
      if (!session) return { user: null, csrfToken: null, expiresAt: null };
      return { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );

  app.get(
    '/api/users',
    { schema: { tags: ['users'], summary: 'List accounts (admin)' } },
    async (request) => {
      requireSession(request, 'admin');
      return { users: listUsers(db) };
    },
  );

  app.post<{ Body: { name: string; password: string; role: Role } }>(
    '/api/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create an account (admin)',
        body: {
          type: 'object',
          required: ['name', 'password', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 64 },
            password: { type: 'string', maxLength: 1024 },
            role: { type: 'string', enum: ['admin', 'clinician'] },
          },
        },
        response: { 201: USER_SCHEMA },
      },
    },
    async (request, reply) => {
      const session = requireSession(request, 'admin');
      const user = await createUser(db, request.body.name, request.body.password, request.body.role);
      audit.record({
        action: 'user-create',
        user: session.user,
        detail: { created: user.name, role: user.role },
      });
      return reply.status(201).send(user);
    },
  );

  app.get<{ Querystring: { caseId?: string; limit?: number } }>(
    '/api/audit',
    {
      schema: {
        tags: ['users'],
        summary: 'Read the audit log, newest first (admin)',
        querystring: {
          type: 'object',
          properties: {
            caseId: { type: 'string', format: 'uuid' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 200 },
          },
        },
      },
    },
    async (request) => {
      requireSession(request, 'admin');
      return { entries: audit.list({ caseId: request.query.caseId, limit: request.query.limit ?? 200 }) };
    },
  );
}
