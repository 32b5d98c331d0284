/** Local user accounts and their sessions. Session tokens are stored only as SHA-256 hashes. */
import { createHash, randomBytes } from 'node:crypto';
import { LilnetError } from '../errors.ts';
import type { Db } from './database.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export type Role = 'admin' | 'clinician';
export const ROLES: readonly Role[] = ['admin', 'clinician'];

export interface User {
  id: number;
  name: string;
  role: Role;
}

export interface Session {
  user: User;
  csrfToken: string;
  tokenHash: string;
  expiresAt: string;
}

const USER_NAME_PATTERN = /^[A-Za-z0-9._-]{2,64}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Creates an account; the name must be new and 2 to 64 letters, digits, dots, dashes or underscores. */
export async function createUser(db: Db, name: string, password: string, role: Role): Promise<User> {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new LilnetError('INVALID_ARGUMENT', `invalid user name ${JSON.stringify(name)}`, {
      hint: 'use 2 to 64 letters, digits, dots, dashes or underscores',
    });
  }
  if (!ROLES.includes(role)) {
    throw new LilnetError('INVALID_ARGUMENT', `invalid role ${JSON.stringify(role)}`, {
      hint: `use one of ${ROLES.join(', ')}`,
    });
  }
  const passwordHash = await hashPassword(password);
  const existing = db.prepare('SELECT id FROM users WHERE name = ?').get(name);
  if (existing) {
    throw new LilnetError('CONFLICT', `a user named ${name} already exists`, { hint: 'choose another name' });
  }
  const info = db
    .prepare('INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)')
    .run(name, passwordHash, role, new Date().toISOString());
  return { id: Number(info.lastInsertRowid), name, role };
}

export function listUsers(db: Db): (User & { createdAt: string })[] {
  return db
    .prepare('SELECT id, name, role, created_at AS createdAt FROM users ORDER BY name')
    .all() as (User & {
    createdAt: string;
  })[];
}

export function countUsers(db: Db): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
}

/** Returns the user when the name and password match, otherwise null (after the same hashing work). */
export async function authenticate(db: Db, name: string, password: string): Promise<User | null> {
  const row = db.prepare('SELECT id, name, role, password_hash FROM users WHERE name = ?').get(name) as
    (User & { password_hash: string }) | undefined;
  // An unknown name still costs one scrypt, so response time does not reveal which names exist.
  const stored = row?.password_hash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA';
  const matches = await verifyPassword(password, stored);
  if (!row || !matches) return null;
  return { id: row.id, name: row.name, role: row.role };
}

/** Starts a session and returns its secret token (for the cookie) and CSRF token. */
export function createSession(db: Db, user: User, lifetimeMs: number): { token: string; session: Session } {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const now = Date.now();
  const expiresAt = new Date(now + lifetimeMs).toISOString();
  const tokenHash = hashToken(token);
  db.prepare(
    'INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  ).run(tokenHash, user.id, csrfToken, new Date(now).toISOString(), expiresAt);
  return { token, session: { user, csrfToken, tokenHash, expiresAt } };
}

/** Returns the live session of a cookie token, or null when unknown or expired (expired rows are deleted). */
export function findSession(db: Db, token: string): Session | null {
  const tokenHash = hashToken(token);
  const row = db
    .prepare(
      `SELECT s.csrf_token, s.expires_at, u.id, u.name, u.role
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`,
    )
    .get(tokenHash) as
    { csrf_token: string; expires_at: string; id: number; name: string; role: Role } | undefined;
  if (!row) return null;
  if (Date.parse(row.expires_at) <= Date.now()) {
    db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
    return null;
  }
  return {
    user: { id: row.id, name: row.name, role: row.role },
    csrfToken: row.csrf_token,
    tokenHash,
    expiresAt: row.expires_at,
  };
}

/** Deletes every expired session; returns how many there were. */
export function deleteExpiredSessions(db: Db): number {
  return db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(new Date().toISOString()).changes;
}

export function deleteSession(db: Db, tokenHash: string): void {
  db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
}
