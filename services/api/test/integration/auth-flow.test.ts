import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/app.ts';
import { Passwords } from '../../src/auth/passwords.ts';
import { runMigrations } from '../../src/db/migrations.ts';
import { createPool } from '../../src/db/pool.ts';
import { UserStore } from '../../src/db/users.ts';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';

const EMAIL = 'Operator@Example.com';
const PASSWORD = 'correct horse battery staple';

let services: DataServices;
let app: FastifyInstance;
let baseUrl: string;

before(async () => {
  services = await startDataServices();
  await runMigrations(services.settings);
  app = await buildApp(services.settings);
  const pool = createPool(services.settings, app.log as never);
  await new UserStore(pool).create(EMAIL, await new Passwords(services.settings).hash(PASSWORD));
  await pool.end();
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await services?.stop();
});

async function call(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const login = (email = EMAIL, password = PASSWORD) => call('POST', '/v1/auth/login', { body: { email, password } });

describe('auth flow against PostgreSQL and Redis', () => {
  it('should report ready when both services answer', async () => {
    const response = await call('GET', '/health/ready');

    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ok', postgres: 'up', redis: 'up' });
  });

  it('should log in with the email in any case and read /v1/me', async () => {
    const { status, body: pair } = await login('operator@EXAMPLE.com');

    const me = await call('GET', '/v1/me', { token: pair.accessToken });

    assert.equal(status, 200);
    assert.equal(pair.tokenType, 'Bearer');
    assert.equal(me.status, 200);
    assert.equal(me.body.email, 'operator@example.com');
  });

  it('should answer a wrong password and an unknown email identically', async () => {
    const wrongPassword = await login(EMAIL, 'not the password at all');
    const unknownEmail = await login('nobody@example.com', PASSWORD);

    assert.equal(wrongPassword.status, 401);
    assert.equal(unknownEmail.status, 401);
    const strip = (body: { error: { requestId?: string } }) => ({ ...body.error, requestId: undefined });
    assert.deepEqual(strip(wrongPassword.body), strip(unknownEmail.body));
    assert.equal(wrongPassword.body.error.code, 'AUTH_INVALID_CREDENTIALS');
  });

  it('should refuse the access token after logout, with a revocation that expires with the token', async () => {
    const { body: pair } = await login();

    const logout = await call('POST', '/v1/auth/logout', { token: pair.accessToken });
    const me = await call('GET', '/v1/me', { token: pair.accessToken });

    assert.equal(logout.status, 204);
    assert.equal(me.status, 401);
    assert.equal(me.body.error.code, 'AUTH_TOKEN_REVOKED');
    const jti = JSON.parse(Buffer.from(pair.accessToken.split('.')[1], 'base64url').toString()).jti;
    const redis = new Redis({ ...redisOptions(), lazyConnect: true });
    try {
      const ttl = await redis.ttl(`revoked:${jti}`);
      assert.ok(ttl > 0 && ttl <= services.settings.jwt.accessTtlSeconds, `revocation TTL was ${ttl}`);
    } finally {
      redis.disconnect();
    }
  });

  it('should rotate refresh tokens and refuse one used twice', async () => {
    const { body: first } = await login();

    const rotated = await call('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });
    const reused = await call('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });

    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refreshToken, first.refreshToken);
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, 'AUTH_TOKEN_REVOKED');
  });

  it('should refuse an access token where a refresh token is expected', async () => {
    const { body: pair } = await login();

    const response = await call('POST', '/v1/auth/refresh', { body: { refreshToken: pair.accessToken } });

    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'AUTH_TOKEN_INVALID');
  });

  it('should revoke the refresh token given at logout', async () => {
    const { body: pair } = await login();

    await call('POST', '/v1/auth/logout', { token: pair.accessToken, body: { refreshToken: pair.refreshToken } });
    const refresh = await call('POST', '/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } });

    assert.equal(refresh.status, 401);
    assert.equal(refresh.body.error.code, 'AUTH_TOKEN_REVOKED');
  });
});

function redisOptions() {
  const { host, port, username, password } = services.settings.redis;
  return { host, port, username, password };
}
