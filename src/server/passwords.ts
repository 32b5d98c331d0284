/**
 * Password hashing with scrypt (node:crypto). A stored hash reads `scrypt$N$r$p$salt$key` with the salt and
 * key in base64, so the cost parameters can be raised later without invalidating existing hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { LilnetError } from '../errors.ts';

const COST = { N: 1 << 15, r: 8, p: 1 };
const KEY_BYTES = 64;
const SALT_BYTES = 16;
/** Shortest password accepted for an account. */
export const MIN_PASSWORD_LENGTH = 10;

function deriveKey(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes, which the default of 32 MiB does not for N = 2^15.
    scrypt(password, salt, KEY_BYTES, { ...options, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `the password has ${password.length} characters, fewer than ${MIN_PASSWORD_LENGTH}`,
      {
        hint: `choose a password of at least ${MIN_PASSWORD_LENGTH} characters`,
      },
    );
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Checks a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const key = await deriveKey(password, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
