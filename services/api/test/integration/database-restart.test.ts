import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';
import { call } from './http-client.ts';
import { acceptsConnections } from './postgres-container.ts';
import { freePort, waitFor } from './restart-helpers.ts';

// A PostgreSQL restart while the API's pool holds idle connections (checklist 4.4): the API logs it, reports not
// ready while the database is down, answers 503 instead of hanging, stays up, and serves the next request after
// the database is back, with no restart of its own. And a database that stops answering without closing anything
// (a paused container, as a network cut looks) costs a request the query timeout, not forever.

const run = promisify(execFile);
const EMAIL = 'restart@example.com';
const PASSWORD = 'correct horse battery staple';
const TIMEOUT_MS = 1_000;

let services: DataServices;
let app: FastifyInstance;
let baseUrl: string;
let accessToken: string;
const logLines: string[] = [];

before(async () => {
  services = await startDataServices({
    env: {
      LOG_LEVEL: 'error',
      DATABASE_QUERY_TIMEOUT_MS: String(TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
    },
    postgres: { hostPort: await freePort() },
  });
  await services.migrate();
  await services.createUser(EMAIL, PASSWORD);
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  app = await buildApp(services.settings, { logStream });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  ({ accessToken } = (
    await call(baseUrl, 'POST', '/v1/auth/login', {
      body: { email: EMAIL, password: PASSWORD, refreshTransport: 'body' },
    })
  ).body);
});

after(async () => {
  await run('docker', ['unpause', services.postgres.getId()]).catch(() => undefined);
  await run('docker', ['start', services.postgres.getId()]).catch(() => undefined);
  await app?.close();
  await services?.stop();
});

it('should ride out a PostgreSQL restart with pooled connections idle', async () => {
  // Several requests at once leave several idle connections in the pool.
  const warm = await Promise.all(
    Array.from({ length: 5 }, () => call(baseUrl, 'GET', '/v1/me', { token: accessToken })),
  );
  assert.deepEqual(
    warm.map((response) => response.status),
    [200, 200, 200, 200, 200],
  );

  await run('docker', ['stop', services.postgres.getId()]);

  const ready = await call(baseUrl, 'GET', '/health/ready');
  assert.equal(ready.status, 503);
  assert.equal(ready.body.postgres, 'down');
  const me = await call(baseUrl, 'GET', '/v1/me', { token: accessToken });
  assert.equal(me.status, 503);
  assert.equal(me.body.error.code, 'SERVICE_UNAVAILABLE');
  assert.ok(
    logLines.some((line) => line.includes('idle database connection failed')),
    'the lost idle connections are logged',
  );
  assert.equal((await call(baseUrl, 'GET', '/health/live')).status, 200);

  await run('docker', ['start', services.postgres.getId()]);
  // Waited for inside the container, not through the API: the API's first request after the database is back is
  // this one, with no readiness check before it to open a connection first.
  await waitFor('PostgreSQL to accept connections', () => acceptsConnections(services.postgres));

  const back = await call(baseUrl, 'GET', '/v1/me', { token: accessToken });
  assert.equal(back.status, 200);
  assert.equal(back.body.email, EMAIL);
  assert.equal((await call(baseUrl, 'GET', '/health/ready')).status, 200);
});

it('should answer 503 within the query timeout while PostgreSQL hangs, then serve again', async () => {
  assert.equal((await call(baseUrl, 'GET', '/v1/me', { token: accessToken })).status, 200);
  await run('docker', ['pause', services.postgres.getId()]);
  try {
    const started = performance.now();
    const me = await call(baseUrl, 'GET', '/v1/me', { token: accessToken });
    const ms = performance.now() - started;

    assert.equal(me.status, 503);
    assert.ok(ms < TIMEOUT_MS * 3, `answered after ${Math.round(ms)} ms`);
  } finally {
    await run('docker', ['unpause', services.postgres.getId()]);
  }
  await waitFor('an answer', async () => (await call(baseUrl, 'GET', '/v1/me', { token: accessToken })).status === 200);
});
