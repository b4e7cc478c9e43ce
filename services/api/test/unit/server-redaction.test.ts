import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import { FakeInfisical } from '../../../../config/test/fixtures/fake-infisical.ts';
import { keyIdOf } from '../../src/auth/key-ring.ts';
import { assertNonePrinted, freePort, SCRATCH, SERVER, startApiProcess, waitFor } from './api-process.ts';
import { RefusingPostgres } from './fixtures/refusing-postgres.ts';
import { RefusingRedis } from './fixtures/refusing-redis.ts';

// Issue #3: "boot at the most verbose level with known secret values and assert none appears in anything printed",
// for every secret and every way one arrives: plain variables, _FILE files, Infisical (its client secret, its access
// tokens and the secrets it serves, also after a rotation). PostgreSQL and Redis are local listeners that take the
// password and refuse it, so the login-failure paths run with the real values in hand.

const postgres = await RefusingPostgres.start();
after(() => postgres.close());

function secretFile(name: string, value: string): string {
  const path = join(SCRATCH, name);
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return path;
}

/** An access token as the API signs one (kid, issuer, claims), here under the previous key of a rotation. */
function accessTokenSignedWith(secret: string): string {
  const sign = createSigner({
    key: secret,
    algorithm: 'HS256',
    kid: keyIdOf(secret),
    iss: 'pdpl-api',
    expiresIn: 60_000,
  });
  return sign({ sub: randomUUID(), jti: randomUUID(), typ: 'access', fam: randomUUID(), sat: Date.now() });
}

/** Requests that carry credentials every way a client sends them, and make the API use each of its secrets. */
async function exercise(port: number, previousKeyToken: string): Promise<string[]> {
  const base = `http://127.0.0.1:${port}`;
  const password = 'typed-password-9z8y7x';
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
  await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: `refresh=${token}` },
    body: JSON.stringify({ email: 'ops@example.com', password }),
  });
  await fetch(`${base}/v1/me?token=${token}`, { headers: { authorization: `Bearer ${token}` } });
  await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${previousKeyToken}` } });
  await fetch(`${base}/v1/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: token }),
  });
  // Logs in to PostgreSQL, which refuses the password.
  await fetch(`${base}/health/ready`);
  return [password, token, previousKeyToken];
}

describe('API server output', () => {
  it('should print no secret, password or token at the most verbose log level', async () => {
    const secrets = {
      DATABASE_PASSWORD: 'db-secret-value-1a2b3c4d5e',
      REDIS_PASSWORD: 'redis-secret-value-6f7a8b9c',
      JWT_SECRET: 'jwt-secret-value-0d1e2f3a4b5c6d7e8f9a0b1c',
      JWT_PREVIOUS_SECRET: 'jwt-previous-secret-value-5d6e7f8a9b0c',
    };
    const port = await freePort();
    const env = { LOG_LEVEL: 'trace', PORT: String(port), HOST: '127.0.0.1', DATABASE_PORT: String(postgres.port) };
    const server = startApiProcess(SERVER, { ...env, ...secrets });
    await waitFor(() => server.output().includes('Server listening'), server);

    const sent = await exercise(port, accessTokenSignedWith(secrets.JWT_PREVIOUS_SECRET));
    server.child.kill('SIGTERM');
    await server.exited;

    assert.match(server.output(), /"msg":"incoming request"/, 'request logging was on');
    assert.ok(postgres.passwords.includes(secrets.DATABASE_PASSWORD), 'the database password was sent');
    assertNonePrinted([...Object.values(secrets), ...sent], server.output());
  });

  it('should print no secret from Infisical or a secret file, nor the client secret or its tokens', async () => {
    const fromInfisical = {
      JWT_SECRET: 'infisical-jwt-secret-3e4f5a6b7c8d9e0f1a2b',
      JWT_PREVIOUS_SECRET: 'infisical-jwt-previous-4b5c6d7e8f9a0b1c',
      REDIS_PASSWORD: 'infisical-redis-password-2c3d4e5f',
    };
    const rotated = 'infisical-jwt-rotated-5f6a7b8c9d0e1f2a3b4c';
    const clientSecret = 'infisical-client-secret-6d7e8f9a0b1c';
    const databasePassword = 'file-db-password-8a9b0c1d2e3f';
    const infisical = await FakeInfisical.start({
      clientId: 'api-identity',
      clientSecret,
      projectId: 'project-1',
      environment: 'dev',
      secrets: fromInfisical,
    });
    after(() => infisical.close());
    const port = await freePort();
    const server = startApiProcess(SERVER, {
      ...infisical.environmentFor(secretFile('infisical-client-secret', clientSecret)),
      INFISICAL_REFRESH_INTERVAL_SECONDS: '1',
      DATABASE_PASSWORD_FILE: secretFile('database-password', databasePassword),
      DATABASE_PORT: String(postgres.port),
      LOG_LEVEL: 'trace',
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    await waitFor(() => server.output().includes('Server listening'), server);

    // An operator rotates the signing key in Infisical; the API takes it up at the next refresh, and says so.
    infisical.secrets.set('JWT_SECRET', rotated);
    await waitFor(() => server.output().includes('secrets changed in Infisical; in use from now on'), server);
    const sent = await exercise(port, accessTokenSignedWith(fromInfisical.JWT_PREVIOUS_SECRET));
    server.child.kill('SIGTERM');
    await server.exited;

    assert.ok(infisical.logins > 0 && infisical.listCalls > 1, 'the API logged in and refreshed');
    assert.ok(postgres.passwords.includes(databasePassword), 'the password from the file was sent');
    const known = [...Object.values(fromInfisical), rotated, clientSecret, databasePassword, ...infisical.issuedTokens];
    assertNonePrinted([...known, ...sent], server.output());
  });

  it('should exit 2 naming the setting when Redis refuses the login, and print no password', async () => {
    const redis = await RefusingRedis.start();
    after(() => redis.close());
    const password = 'redis-file-password-7c8d9e0f1a2b';
    const jwtSecret = 'jwt-secret-value-9a8b7c6d5e4f3a2b1c0d';

    const server = startApiProcess(SERVER, {
      LOG_LEVEL: 'trace',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_USERNAME: 'pdpl_api',
      REDIS_PASSWORD_FILE: secretFile('redis-password', password),
      JWT_SECRET: jwtSecret,
    });
    const [code] = await server.exited;

    assert.equal(code, 2, server.output());
    assert.match(
      server.output(),
      /^api: could not start: Redis at localhost:\d+ refused the login of user pdpl_api .*check REDIS_USERNAME and REDIS_PASSWORD/m,
    );
    assert.ok(redis.received.includes(password), 'the password was sent');
    assertNonePrinted([password, jwtSecret], server.output());
  });
});
