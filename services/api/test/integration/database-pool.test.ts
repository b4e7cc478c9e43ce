import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import type { AppOptions } from '../../src/app.ts';
import { buildApp } from '../../src/app.ts';
import { connectionOptions, createPool } from '../../src/db/pool.ts';
import type { DataServices } from './data-services.ts';
import { DATABASE_PASSWORD, startDataServices } from './data-services.ts';
import { call } from './http-client.ts';
import { superuserRows } from './postgres-container.ts';
import { waitFor } from './restart-helpers.ts';
import { foreignCertificates } from './test-certificates.ts';

// The API's own pool against the platform's PostgreSQL (issue #5): any character in the password, the server's
// certificate checked against DATABASE_CA_FILE, and the pool held to its size, idle and connect timeouts from the
// settings. Each refusal has a control beside it that the same server accepts, so none passes because nothing works.

const EMAIL = 'pool@example.com';
const PASSWORD = 'correct horse battery staple';
const IDLE_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 1_000;
/** Requests sent at once: far more than either pool size tried here. */
const BURST = 20;
const silent = pino({ level: 'silent' });
const run = promisify(execFile);

let services: DataServices;
let accessToken: string;
const apps: FastifyInstance[] = [];

before(async () => {
  services = await startDataServices({
    env: { DATABASE_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS), RATE_LIMIT_MAX: '10000' },
  });
  await services.migrate();
  await services.createUser(EMAIL, PASSWORD);
  const login = await call(await listening(), 'POST', '/v1/auth/login', {
    body: { email: EMAIL, password: PASSWORD, refreshTransport: 'body' },
  });
  ({ accessToken } = login.body);
  await closeApps();
});

// Closing an app ends its pool: each test counts the connections of its own apps only.
afterEach(closeApps);

after(async () => {
  await closeApps();
  if (!services) return;
  await run('docker', ['unpause', services.postgres.getId()]).catch(() => undefined);
  await services.stop();
});

/** An API over real HTTP, with some variables over the data services' environment; returns its address. */
async function listening(env: Record<string, string> = {}, options: AppOptions = {}): Promise<string> {
  const app = await buildApp(services.settingsWith(env), options);
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function closeApps(): Promise<void> {
  await Promise.allSettled(apps.splice(0).map((app) => app.close()));
}

const me = (baseUrl: string) => call(baseUrl, 'GET', '/v1/me', { token: accessToken });

/** The API's connections in pg_stat_activity, as the superuser sees them: how many in each state. */
async function apiConnections(): Promise<Record<string, number>> {
  const rows = await superuserRows(
    services.postgres,
    "SELECT state, count(*) FROM pg_stat_activity WHERE application_name = 'pdpl-api' GROUP BY state",
  );
  return Object.fromEntries(
    rows.map((row) => {
      const [state, count] = row.split(' ');
      return [state, Number(count)];
    }),
  );
}

const total = (states: Record<string, number>) => Object.values(states).reduce((sum, count) => sum + count, 0);

/**
 * Sends BURST requests for /v1/me at once while the owner holds pdpl.users locked, so that every pooled connection
 * waits on the lock and the pool cannot hand one back; returns the most connections the API had open meanwhile, and
 * the statuses once the lock is released (well within the connect timeout, which also bounds a wait for the pool).
 */
async function burstUnderLock(baseUrl: string): Promise<{ peak: number; statuses: number[] }> {
  const owner = new pg.Client({
    ...connectionOptions(loadConfig({ env: services.ownerEnv })),
    application_name: 'pool-test-owner',
  });
  await owner.connect();
  await waitFor('no connection of the API open', async () => total(await apiConnections()) === 0);
  try {
    await owner.query('BEGIN');
    await owner.query('LOCK TABLE pdpl.users IN ACCESS EXCLUSIVE MODE');
    const answers = Promise.all(Array.from({ length: BURST }, () => me(baseUrl)));
    let peak = 0;
    for (let sample = 0; sample < 8; sample++) {
      peak = Math.max(peak, total(await apiConnections()));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await owner.query('COMMIT');
    return { peak, statuses: (await answers).map((answer) => answer.status) };
  } finally {
    await owner.end();
  }
}

describe("the API's pool: its login and the server's certificate", () => {
  it("should take a password holding + / = $ @ : through the API's own pool, and refuse it one short", async () => {
    for (const character of '+/=$@:') assert.ok(DATABASE_PASSWORD.includes(character), `no ${character}`);
    const pool = createPool(services.settings, silent);
    const short = createPool(services.settingsWith({ DATABASE_PASSWORD: DATABASE_PASSWORD.slice(0, -1) }), silent);
    try {
      const { rows } = await pool.query(
        'SELECT current_user AS role, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );

      assert.deepEqual(rows, [{ role: 'pdpl_app', ssl: true }]);
      await assert.rejects(short.query('SELECT 1'), { code: '28P01' });
    } finally {
      await Promise.all([pool.end(), short.end()]);
    }
  });

  it("should not use a PostgreSQL whose certificate another CA signed, and use it with the platform's CA", async () => {
    const logLines: string[] = [];
    const logStream = new PassThrough().on('data', (chunk: Buffer) => logLines.push(chunk.toString()));
    const untrusted = { DATABASE_CA_FILE: join(foreignCertificates(), 'ca.crt'), LOG_LEVEL: 'error' };
    const foreign = await listening(untrusted, { logStream });
    const trusting = await listening();

    const foreignReady = await call(foreign, 'GET', '/health/ready');
    const foreignMe = await me(foreign);
    const ready = await call(trusting, 'GET', '/health/ready');
    const trustingMe = await me(trusting);

    assert.equal(foreignReady.status, 503);
    assert.deepEqual([foreignReady.body.postgres, foreignReady.body.redis], ['down', 'up']);
    assert.equal(foreignMe.status, 503);
    assert.equal(foreignMe.body.error.code, 'SERVICE_UNAVAILABLE');
    assert.ok(logLines.join('').includes('unable to verify the first certificate'), 'the log says why');
    assert.equal(ready.status, 200);
    assert.equal(trustingMe.status, 200);
    assert.equal(trustingMe.body.email, EMAIL);
  });

  it('should not use a PostgreSQL whose certificate does not name DATABASE_HOST, though the CA signed it', async () => {
    const logLines: string[] = [];
    const logStream = new PassThrough().on('data', (chunk: Buffer) => logLines.push(chunk.toString()));
    // 127.1 reaches the same server as 127.0.0.1, under a name its certificate does not cover.
    const misnamed = await listening({ DATABASE_HOST: '127.1', LOG_LEVEL: 'error' }, { logStream });

    const ready = await call(misnamed, 'GET', '/health/ready');
    const answer = await me(misnamed);

    assert.equal(ready.status, 503);
    assert.deepEqual([ready.body.postgres, ready.body.redis], ['down', 'up']);
    assert.equal(answer.status, 503);
    assert.match(logLines.join(''), /127\.1.*altnames/, 'the log says why');
  });
});

describe("the API's pool: its bounds", () => {
  it(`should open no more than DATABASE_POOL_MAX=2 connections for ${BURST} requests, and close them idle`, async () => {
    const baseUrl = await listening({ DATABASE_POOL_MAX: '2' });

    const { peak, statuses } = await burstUnderLock(baseUrl);
    const afterwards = await apiConnections();

    assert.equal(peak, 2);
    assert.deepEqual(statuses, Array(BURST).fill(200));
    assert.deepEqual(afterwards, { idle: 2 }, 'kept open, idle, until the idle timeout');
    await waitFor(
      'the idle connections to close',
      async () => total(await apiConnections()) === 0,
      IDLE_TIMEOUT_MS + 3_000,
    );
  });

  it('should open as many as a larger DATABASE_POOL_MAX=5 allows under the same requests', async () => {
    const baseUrl = await listening({ DATABASE_POOL_MAX: '5' });

    const { peak, statuses } = await burstUnderLock(baseUrl);

    assert.equal(peak, 5);
    assert.deepEqual(statuses, Array(BURST).fill(200));
  });

  it('should answer 503 within DATABASE_CONNECT_TIMEOUT_MS when PostgreSQL does not answer, then 200', async () => {
    // The query timeout far above the connect timeout: only the latter can cut this wait short.
    const baseUrl = await listening({
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_QUERY_TIMEOUT_MS: '30000',
    });
    // Paused, the container answers nothing while Docker's proxy still accepts on its port: the fresh pool's first
    // connection waits on the TLS handshake, as it would across a network cut.
    await run('docker', ['pause', services.postgres.getId()]);
    let ms: number;
    let status: number;
    try {
      const started = performance.now();
      ({ status } = await me(baseUrl));
      ms = performance.now() - started;
    } finally {
      await run('docker', ['unpause', services.postgres.getId()]);
    }

    assert.equal(status, 503);
    assert.ok(ms >= CONNECT_TIMEOUT_MS * 0.9 && ms < CONNECT_TIMEOUT_MS + 1_000, `answered after ${Math.round(ms)} ms`);
    assert.equal((await me(baseUrl)).status, 200);
  });
});
