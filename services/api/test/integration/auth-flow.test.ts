import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/app.ts';
import type { DataServices } from './data-services.ts';
import { REDIS_OPERATOR_PASSWORD, startDataServices } from './data-services.ts';
import type { CallOptions } from './http-client.ts';
import { call as callAt, claimsOf } from './http-client.ts';

const EMAIL = 'Operator@Example.com';
const PASSWORD = 'correct horse battery staple';
const OTHER_EMAIL = 'second@example.com';

let services: DataServices;
let settings: Settings;
let app: FastifyInstance;
let baseUrl: string;

before(async () => {
  services = await startDataServices();
  // Many logins from one address: the limits per address are the subject of rate-limits.test.ts, not of this file.
  settings = services.settingsWith({ RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_MAX: '100000' });
  await services.migrate();
  app = await buildApp(settings);
  await services.createUser(EMAIL, PASSWORD);
  await services.createUser(OTHER_EMAIL, PASSWORD);
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await services?.stop();
});

const call = (method: string, path: string, options?: CallOptions) => callAt(baseUrl, method, path, options);
const login = (email = EMAIL, password = PASSWORD) =>
  call('POST', '/v1/auth/login', { body: { email, password, refreshTransport: 'body' } });
const refresh = (refreshToken: string) => call('POST', '/v1/auth/refresh', { body: { refreshToken } });

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

  it('should describe the session of a token without reading the database', async () => {
    const { body: pair } = await login();

    const session = await call('GET', '/v1/session', { token: pair.accessToken });

    const { sub, fam, sat, exp } = claimsOf(pair.accessToken);
    assert.equal(session.status, 200);
    assert.equal(session.body.userId, sub);
    assert.equal(session.body.sessionId, fam);
    assert.equal(session.body.startedAt, new Date(Number(sat)).toISOString());
    assert.equal(session.body.accessTokenExpiresAt, new Date(Number(exp) * 1000).toISOString());
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

  it('should end the session at logout, with a revocation that expires with its last token', async () => {
    const { body: pair } = await login();

    const logout = await call('POST', '/v1/auth/logout', { token: pair.accessToken });
    const me = await call('GET', '/v1/me', { token: pair.accessToken });
    const refreshed = await refresh(pair.refreshToken);

    assert.equal(logout.status, 204);
    assert.equal(me.body.error.code, 'AUTH_TOKEN_REVOKED');
    assert.equal(refreshed.body.error.code, 'AUTH_TOKEN_REVOKED');
    const { fam } = claimsOf(pair.accessToken);
    await withRedis(async (redis) => {
      const sessionTtl = await redis.ttl(`auth:ended:${fam}`);
      assert.ok(sessionTtl > 0 && sessionTtl <= settings.jwt.refreshTtlSeconds, `session TTL was ${sessionTtl}`);
    });
  });

  it('should rotate refresh tokens, keeping the session', async () => {
    const { body: first } = await login();

    const rotated = await refresh(first.refreshToken);
    const me = await call('GET', '/v1/me', { token: rotated.body.accessToken });

    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refreshToken, first.refreshToken);
    assert.equal(claimsOf(rotated.body.refreshToken).fam, claimsOf(first.refreshToken).fam);
    assert.equal(me.status, 200);
  });

  it('should end the whole session when a refresh token is used twice', async () => {
    const { body: first } = await login();
    const rotated = await refresh(first.refreshToken);

    const reused = await refresh(first.refreshToken);
    const descendant = await refresh(rotated.body.refreshToken);
    const access = await call('GET', '/v1/me', { token: rotated.body.accessToken });

    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, 'AUTH_TOKEN_REUSED');
    assert.equal(descendant.body.error.code, 'AUTH_TOKEN_REVOKED', 'the pair the first use got is dead too');
    assert.equal(access.body.error.code, 'AUTH_TOKEN_REVOKED');
  });

  it('should let exactly one of two racing refreshes with the same token through', async () => {
    const { body: pair } = await login();

    const answers = await Promise.all([refresh(pair.refreshToken), refresh(pair.refreshToken)]);

    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 401]);
  });

  it('should take a JSON content type with no body at all, as many clients send on logout', async () => {
    const { body: pair } = await login();

    const logout = await call('POST', '/v1/auth/logout', {
      token: pair.accessToken,
      headers: { 'content-type': 'application/json' },
    });

    assert.equal(logout.status, 204);
  });

  it('should refuse an access token where a refresh token is expected', async () => {
    const { body: pair } = await login();

    const response = await refresh(pair.accessToken);

    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'AUTH_TOKEN_INVALID');
  });

  it('should log a user out everywhere, and only that user', async () => {
    const phone = (await login()).body;
    const laptop = (await login()).body;
    const someoneElse = (await login(OTHER_EMAIL)).body;

    const logoutAll = await call('POST', '/v1/auth/logout-all', { token: phone.accessToken });
    const laptopMe = await call('GET', '/v1/me', { token: laptop.accessToken });
    const laptopRefresh = await refresh(laptop.refreshToken);
    const otherMe = await call('GET', '/v1/me', { token: someoneElse.accessToken });
    const fresh = (await login()).body;
    const freshMe = await call('GET', '/v1/me', { token: fresh.accessToken });

    assert.equal(logoutAll.status, 204);
    assert.equal(laptopMe.body.error.code, 'AUTH_TOKEN_REVOKED');
    assert.equal(laptopRefresh.body.error.code, 'AUTH_TOKEN_REVOKED');
    assert.equal(otherMe.status, 200);
    assert.equal(freshMe.status, 200, 'a login after "log out everywhere" works');
  });
});

describe('"log out everywhere" with short-lived tokens', () => {
  let shortLived: FastifyInstance;
  let shortUrl: string;
  const ACCESS_TTL = 1;
  const REFRESH_TTL = 3;

  before(async () => {
    const short = services.settingsWith({
      RATE_LIMIT_AUTH_MAX: '1000',
      JWT_ACCESS_TTL_SECONDS: String(ACCESS_TTL),
      JWT_REFRESH_TTL_SECONDS: String(REFRESH_TTL),
    });
    shortLived = await buildApp(short);
    shortUrl = await shortLived.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => shortLived?.close());

  const shortCall = (method: string, path: string, options?: CallOptions) => callAt(shortUrl, method, path, options);
  const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

  it('should still end a session that outlived the record of an earlier "log out everywhere"', async () => {
    const loginBody = { email: OTHER_EMAIL, password: PASSWORD, refreshTransport: 'body' };
    const first = (await shortCall('POST', '/v1/auth/login', { body: loginBody })).body;
    await shortCall('POST', '/v1/auth/logout-all', { token: first.accessToken });
    let phone = (await shortCall('POST', '/v1/auth/login', { body: loginBody })).body;

    // Keep the phone's session alive by refreshing until the first logout-all's record has expired.
    for (let step = 0; step < 4; step++) {
      await pause(1);
      const refreshed = await shortCall('POST', '/v1/auth/refresh', { body: { refreshToken: phone.refreshToken } });
      assert.equal(refreshed.status, 200, `refresh ${step}: ${JSON.stringify(refreshed.body)}`);
      phone = refreshed.body;
    }
    const laptop = (await shortCall('POST', '/v1/auth/login', { body: loginBody })).body;
    await shortCall('POST', '/v1/auth/logout-all', { token: laptop.accessToken });

    const stolenPhone = await shortCall('GET', '/v1/me', { token: phone.accessToken });
    const stolenRefresh = await shortCall('POST', '/v1/auth/refresh', { body: { refreshToken: phone.refreshToken } });

    assert.equal(stolenPhone.body.error.code, 'AUTH_TOKEN_REVOKED');
    assert.equal(stolenRefresh.body.error.code, 'AUTH_TOKEN_REVOKED');
  });
});

describe('the refresh token in a cookie', () => {
  const cookieLogin = () => call('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
  const cookieOf = (setCookie: string | null) => /pdpl_refresh=([^;]+)/.exec(setCookie ?? '')?.[1];

  it('should set it HttpOnly, Secure, SameSite=Strict, on the refresh path, and not in the body', async () => {
    const response = await cookieLogin();
    const setCookie = response.headers.get('set-cookie') ?? '';

    assert.equal(response.status, 200);
    assert.equal(response.body.refreshToken, undefined);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /Secure/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\/v1\/auth\/refresh(;|$)/);
    assert.match(setCookie, new RegExp(`Max-Age=${settings.jwt.refreshTtlSeconds}`));
  });

  it('should refresh from the cookie alone and hand back a new cookie', async () => {
    const token = cookieOf((await cookieLogin()).headers.get('set-cookie'));

    const response = await call('POST', '/v1/auth/refresh', { headers: { cookie: `pdpl_refresh=${token}` } });

    assert.equal(response.status, 200);
    assert.ok(response.body.accessToken);
    assert.ok(cookieOf(response.headers.get('set-cookie')));
    assert.notEqual(cookieOf(response.headers.get('set-cookie')), token);
  });

  it('should clear the cookie at logout', async () => {
    const { body } = await cookieLogin();

    const logout = await call('POST', '/v1/auth/logout', { token: body.accessToken });

    assert.match(logout.headers.get('set-cookie') ?? '', /pdpl_refresh=;.*Max-Age=0/);
  });

  it('should ask for a refresh token when neither the body nor a cookie has one', async () => {
    const response = await call('POST', '/v1/auth/refresh');

    assert.equal(response.status, 400);
    assert.match(response.body.error.message, /refreshToken is required \(or the pdpl_refresh cookie\)/);
  });
});

describe('two API instances sharing Redis', () => {
  let second: FastifyInstance;
  let secondUrl: string;

  before(async () => {
    second = await buildApp(settings);
    secondUrl = await second.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => second?.close());

  it('should refuse on one instance, within a second, a token revoked on the other', async () => {
    const { body: pair } = await login();
    const before = await callAt(secondUrl, 'GET', '/v1/me', { token: pair.accessToken });

    await call('POST', '/v1/auth/logout', { token: pair.accessToken });
    const revokedAt = Date.now();
    let afterLogout = await callAt(secondUrl, 'GET', '/v1/me', { token: pair.accessToken });
    while (afterLogout.status === 200 && Date.now() - revokedAt < 1_000) {
      afterLogout = await callAt(secondUrl, 'GET', '/v1/me', { token: pair.accessToken });
    }
    const elapsed = Date.now() - revokedAt;

    assert.equal(before.status, 200);
    assert.equal(afterLogout.body.error.code, 'AUTH_TOKEN_REVOKED');
    assert.ok(elapsed < 1_000, `the other instance still accepted the token after ${elapsed} ms`);
  });

  it('should refuse on the instance that wrote it, at once, a token revoked there', async () => {
    const { body: pair } = await login();

    await callAt(secondUrl, 'POST', '/v1/auth/logout-all', { token: pair.accessToken });
    const at = await callAt(secondUrl, 'GET', '/v1/me', { token: pair.accessToken });

    assert.equal(at.body.error.code, 'AUTH_TOKEN_REVOKED');
  });
});

async function withRedis(work: (redis: Redis) => Promise<void>): Promise<void> {
  const { host, port, caFile } = settings.redis;
  // Inspecting Redis is the operator's job: the API's user may not run TTL.
  const redis = new Redis({
    host,
    port,
    username: 'pdpl_operator',
    password: REDIS_OPERATOR_PASSWORD,
    tls: { ca: readFileSync(caFile) },
    lazyConnect: true,
  });
  try {
    await work(redis);
  } finally {
    redis.disconnect();
  }
}
