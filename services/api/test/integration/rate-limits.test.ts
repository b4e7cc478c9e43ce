import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { Passwords } from '../../src/auth/passwords.ts';
import { runMigrations } from '../../src/db/migrations.ts';
import { createPool } from '../../src/db/pool.ts';
import { UserStore } from '../../src/db/users.ts';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';
import { call } from './http-client.ts';

// Rate limits with small budgets, behind a trusted proxy (this host, as nginx is in the stack): the client is the
// address in X-Forwarded-For, so clients behind the proxy each get their own budget.

const EMAIL = 'limited@example.com';
const PASSWORD = 'correct horse battery staple';
const AUTH_MAX = 3;
const FAILURES = 2;

let services: DataServices;
let app: FastifyInstance;
let baseUrl: string;

before(async () => {
  services = await startDataServices();
  const settings = services.settingsWith({
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_AUTH_MAX: String(AUTH_MAX),
    RATE_LIMIT_LOGIN_FAILURES: String(FAILURES),
    RATE_LIMIT_MAX: '20',
  });
  await runMigrations(settings);
  app = await buildApp(settings);
  const pool = createPool(settings, app.log as never);
  await new UserStore(pool).create(EMAIL, await new Passwords(settings).hash(PASSWORD));
  await pool.end();
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await services?.stop();
});

const from = (address: string) => ({ 'x-forwarded-for': address });
const login = (address: string, email = EMAIL, password = PASSWORD) =>
  call(baseUrl, 'POST', '/v1/auth/login', {
    headers: from(address),
    body: { email, password, refreshTransport: 'body' },
  });

describe('rate limits behind a trusted proxy', () => {
  it('should answer login attempts over the budget of an address with 429 and Retry-After', async () => {
    const answers = [];
    for (let attempt = 0; attempt <= AUTH_MAX; attempt++)
      answers.push(await login('203.0.113.1', `x${attempt}@example.com`));

    const refused = answers.at(-1);
    assert.deepEqual(
      answers.slice(0, AUTH_MAX).map((answer) => answer.status),
      Array(AUTH_MAX).fill(401),
    );
    assert.equal(refused?.status, 429);
    assert.equal(refused?.body.error.code, 'RATE_LIMITED');
    const retryAfter = Number(refused?.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 300, `Retry-After was ${retryAfter}`);
  });

  it('should give two clients behind the proxy separate budgets', async () => {
    for (let attempt = 0; attempt <= AUTH_MAX; attempt++) await login('203.0.113.2', `y${attempt}@example.com`);

    const neighbour = await login('203.0.113.3');

    assert.equal(neighbour.status, 200, 'another address still logs in');
  });

  it('should keep the general limit apart per address too', async () => {
    const spent = [];
    for (let request = 0; request < 21; request++) {
      spent.push((await call(baseUrl, 'GET', '/v1/me', { headers: from('198.51.100.7') })).status);
    }
    const other = await call(baseUrl, 'GET', '/v1/me', { headers: from('198.51.100.8') });

    assert.equal(spent.at(-1), 429);
    assert.equal(other.status, 401, 'the other address is asked for a token, not limited');
  });

  it('should never limit the health checks', async () => {
    const statuses = [];
    for (let request = 0; request < 25; request++) {
      statuses.push((await call(baseUrl, 'GET', '/health/live', { headers: from('198.51.100.9') })).status);
    }

    assert.ok(statuses.every((status) => status === 200));
  });
});

describe('backoff per account after failed logins', () => {
  it('should make an account wait after repeated failures, even for the right password, from any address', async () => {
    for (let failure = 0; failure < FAILURES; failure++)
      await login(`192.0.2.${failure + 1}`, EMAIL, 'wrong password!');

    const right = await login('192.0.2.50');

    assert.equal(right.status, 429);
    assert.ok(Number(right.headers.get('retry-after')) > 0);
  });

  it('should answer an unknown email exactly as an account, so backoff reveals no one', async () => {
    const unknown = 'nobody-here@example.com';
    for (let failure = 0; failure < FAILURES; failure++)
      await login(`192.0.2.${failure + 60}`, unknown, 'wrong password!');

    const next = await login('192.0.2.70', unknown, 'wrong password!');

    assert.equal(next.status, 429);
    assert.equal(next.body.error.code, 'RATE_LIMITED');
  });
});
