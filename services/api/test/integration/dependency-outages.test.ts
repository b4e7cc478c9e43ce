import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { STALE_AFTER_MS } from '../../src/auth/revocation-mirror.ts';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';
import { call } from './http-client.ts';
import { freePort, waitFor } from './restart-helpers.ts';

// What the API does when Redis hangs (a paused container: connections open, no answers), when Redis is stopped
// (connections closed), and when PostgreSQL is unreachable: answers within a bounded time, fails closed where a
// wrong "yes" would be a security hole, and the process keeps running. README.md, "When Redis is down", states the
// policy these tests hold.

const run = promisify(execFile);
const EMAIL = 'outage@example.com';
const PASSWORD = 'correct horse battery staple';
const COMMAND_TIMEOUT_MS = 300;

let services: DataServices;
let settings: Settings;
let app: FastifyInstance;
let baseUrl: string;
let accessToken: string;
let refreshToken: string;

before(async () => {
  // A fixed port, so Redis started again is found where the API looks for it.
  services = await startDataServices({ redisHostPort: await freePort() });
  settings = services.settingsWith({ REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
  await services.migrate();
  app = await buildApp(settings);
  await services.createUser(EMAIL, PASSWORD);
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const { body } = await call(baseUrl, 'POST', '/v1/auth/login', {
    body: { email: EMAIL, password: PASSWORD, refreshTransport: 'body' },
  });
  ({ accessToken, refreshToken } = body);
});

after(async () => {
  await run('docker', ['unpause', services.redis.getId()]).catch(() => undefined);
  await run('docker', ['start', services.redis.getId()]).catch(() => undefined);
  await app?.close();
  await services?.stop();
});

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe('Redis hanging', () => {
  before(async () => {
    await run('docker', ['pause', services.redis.getId()]);
    // The instance's copy of the revocations stays trusted this long after Redis last spoke (nothing can be revoked
    // meanwhile: a revocation is written to Redis first); after that, every check asks Redis.
    await new Promise((resolve) => setTimeout(resolve, STALE_AFTER_MS + 100));
  });
  after(() => run('docker', ['unpause', services.redis.getId()]));

  // Two Redis questions at most per request (rate limit, then the route's own), each bounded by the timeout.
  const BOUND_MS = 2 * COMMAND_TIMEOUT_MS + 1_000;

  for (const [name, request] of [
    ['an authenticated request', () => call(baseUrl, 'GET', '/v1/me', { token: accessToken })],
    ['a refresh', () => call(baseUrl, 'POST', '/v1/auth/refresh', { body: { refreshToken } })],
    [
      'a login, before any password is checked',
      () => call(baseUrl, 'POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } }),
    ],
    ['a logout', () => call(baseUrl, 'POST', '/v1/auth/logout', { token: accessToken })],
  ] as const) {
    it(`should refuse ${name} with 503 within ${BOUND_MS} ms`, async () => {
      const { result, ms } = await timed(request);

      assert.equal(result.status, 503);
      assert.equal(result.body.error.code, 'SERVICE_UNAVAILABLE');
      assert.ok(ms < BOUND_MS, `answered after ${Math.round(ms)} ms`);
    });
  }

  it('should report not ready, and stay live', async () => {
    const ready = await call(baseUrl, 'GET', '/health/ready');
    const live = await call(baseUrl, 'GET', '/health/live');

    assert.equal(ready.status, 503);
    assert.equal(ready.body.redis, 'down');
    assert.equal(live.status, 200);
  });
});

describe('Redis back', () => {
  it('should serve the same token again, with nothing restarted', async () => {
    let me = await call(baseUrl, 'GET', '/v1/me', { token: accessToken });
    for (let attempt = 0; me.status === 503 && attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      me = await call(baseUrl, 'GET', '/v1/me', { token: accessToken });
    }

    assert.equal(me.status, 200);
  });
});

describe('Redis stopped', () => {
  // Far above the bound below: a command queued until Redis came back would wait for it, or for this timeout.
  const SLOW_COMMAND_TIMEOUT_MS = 10_000;
  const BOUND_MS = 1_000;
  let patient: FastifyInstance;
  let patientUrl: string;

  before(async () => {
    patient = await buildApp(services.settingsWith({ REDIS_COMMAND_TIMEOUT_MS: String(SLOW_COMMAND_TIMEOUT_MS) }));
    patientUrl = await patient.listen({ host: '127.0.0.1', port: 0 });
    assert.equal((await call(patientUrl, 'GET', '/v1/me', { token: accessToken })).status, 200);
    // Stopped, not paused: the connection is closed, and the client only tries to reconnect.
    await run('docker', ['stop', services.redis.getId()]);
    // Past this, the instance's copy of the revocations is no longer trusted, and every check asks Redis.
    await new Promise((resolve) => setTimeout(resolve, STALE_AFTER_MS + 100));
  });
  after(async () => {
    await run('docker', ['start', services.redis.getId()]);
    await patient?.close();
  });

  it(`should refuse an authenticated request with 503 within ${BOUND_MS} ms, queueing nothing for later`, async () => {
    const { result, ms } = await timed(() => call(patientUrl, 'GET', '/v1/me', { token: accessToken }));

    assert.equal(result.status, 503);
    assert.equal(result.body.error.code, 'SERVICE_UNAVAILABLE');
    assert.ok(ms < BOUND_MS, `answered after ${Math.round(ms)} ms`);
  });

  it('should serve the same request once Redis is started again, with nothing restarted', async () => {
    await run('docker', ['start', services.redis.getId()]);

    await waitFor(
      'the request to be served',
      async () => (await call(patientUrl, 'GET', '/v1/me', { token: accessToken })).status === 200,
      30_000,
    );
  });
});

describe('PostgreSQL unreachable', () => {
  let noDatabase: FastifyInstance;

  before(async () => {
    noDatabase = await buildApp(services.settingsWith({ DATABASE_PORT: '1' }));
  });
  after(() => noDatabase?.close());

  it('should answer a login with a bare 503 to retry: no stack, no driver message', async () => {
    const response = await noDatabase.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: EMAIL, password: PASSWORD },
    });

    assert.equal(response.statusCode, 503);
    assert.deepEqual(Object.keys(response.json().error).sort(), ['code', 'message', 'requestId']);
    assert.equal(response.json().error.code, 'SERVICE_UNAVAILABLE');
    assert.doesNotMatch(response.body, /ECONNREFUSED|at \w+ \(|\.ts:\d+/);
  });
});
