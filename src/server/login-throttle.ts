/**
 * Slows password guessing. Within {@link WINDOW_MS}, a user name gets {@link MAX_FAILURES_PER_SOURCE} failed
 * sign-ins from one remote address and {@link MAX_FAILURES_PER_NAME} from all addresses together; after that,
 * attempts are rejected until the oldest failure leaves the window. Counting by address alone would let one
 * guesser behind a hospital proxy lock out every user. A successful sign-in clears the name's failures.
 *
 * NOTE: the counts live in memory, so a server restart resets them.
 */
import { LilnetError } from '../errors.ts';

export const MAX_FAILURES_PER_SOURCE = 5;
export const MAX_FAILURES_PER_NAME = 20;
export const WINDOW_MS = 15 * 60 * 1000;
const MAX_TRACKED_KEYS = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  /** Throws LOGIN_RATE_LIMITED when the name or the address has too many recent failures. */
  check(name: string, address: string, now = Date.now()): void {
    for (const [key, limit] of this.keys(name, address)) {
      const recent = this.recent(key, now);
      if (recent.length >= limit) {
        const waitMinutes = Math.ceil((recent[0] + WINDOW_MS - now) / 60_000);
        throw new LilnetError(
          'LOGIN_RATE_LIMITED',
          `too many failed sign-ins: ${recent.length} in ${WINDOW_MS / 60_000} minutes`,
          {
            hint: `wait ${waitMinutes} minutes, or ask an admin to check the account`,
          },
        );
      }
    }
  }

  recordFailure(name: string, address: string, now = Date.now()): void {
    if (this.failures.size > MAX_TRACKED_KEYS) this.failures.clear();
    for (const [key] of this.keys(name, address)) this.failures.set(key, [...this.recent(key, now), now]);
  }

  recordSuccess(name: string, address: string): void {
    for (const [key] of this.keys(name, address)) this.failures.delete(key);
  }

  /** Returns the counter keys of one attempt with their limits. */
  private keys(name: string, address: string): [string, number][] {
    const lowerName = name.toLowerCase();
    return [
      [`source:${address}:${lowerName}`, MAX_FAILURES_PER_SOURCE],
      [`name:${lowerName}`, MAX_FAILURES_PER_NAME],
    ];
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((time) => now - time < WINDOW_MS);
  }
}
