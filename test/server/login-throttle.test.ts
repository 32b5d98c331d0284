import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LoginThrottle,
  MAX_FAILURES_PER_NAME,
  MAX_FAILURES_PER_SOURCE,
  WINDOW_MS,
} from '../../src/server/login-throttle.ts';
import { ADMIN, ApiClient, startTestServer } from './helpers.ts';

test('throttle limits one source per name', () => {
  const throttle = new LoginThrottle();
  const now = 1_000_000;
  for (let i = 0; i < MAX_FAILURES_PER_SOURCE; i += 1) {
    throttle.check('admin', '10.0.0.1', now);
    throttle.recordFailure('admin', '10.0.0.1', now);
  }
  assert.throws(() => throttle.check('admin', '10.0.0.1', now), { code: 'LOGIN_RATE_LIMITED' });
  assert.throws(
    () => throttle.check('ADMIN', '10.0.0.1', now),
    { code: 'LOGIN_RATE_LIMITED' },
    'names compare without case',
  );
  throttle.check('admin', '10.0.0.2', now);
  throttle.check('dr.li', '10.0.0.1', now);
  throttle.check('admin', '10.0.0.1', now + WINDOW_MS);
});

test('throttle limits a name across sources', () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < MAX_FAILURES_PER_NAME; i += 1) throttle.recordFailure('admin', `10.0.1.${i}`, 5_000);
  assert.throws(() => throttle.check('admin', '10.0.2.1', 5_000), { code: 'LOGIN_RATE_LIMITED' });
  throttle.recordSuccess('admin', '10.0.2.1');
  throttle.check('admin', '10.0.2.1', 5_000);
});

test('login endpoint returns 429 when throttled', async () => {
  const server = await startTestServer();
  try {
    for (let i = 0; i < MAX_FAILURES_PER_SOURCE; i += 1) {
      assert.equal((await new ApiClient(server.url).login(ADMIN.name, 'wrong password')).status, 401);
    }
    const limited = await new ApiClient(server.url).login();
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'LOGIN_RATE_LIMITED');
    assert.match(limited.body.error.hint, /wait \d+ minutes/);
    const audit = server.server.context.audit.list({ limit: 20 }).map((entry) => entry.action);
    assert.ok(audit.includes('login-throttled'));
    assert.equal((await new ApiClient(server.url).login('someone.else', 'wrong password')).status, 401);
  } finally {
    await server.stop();
  }
});
