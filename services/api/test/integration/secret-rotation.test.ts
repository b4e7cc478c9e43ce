import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { keyIdOf } from '../../src/auth/key-ring.ts';
import { applyRefreshedSecrets } from '../../src/secrets-refresh.ts';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';
import { call } from './http-client.ts';
import { freePort, waitFor } from './restart-helpers.ts';

// Secrets rotated in the secret manager while the API runs (issue #3): what Infisical's refresh hands over goes
// through the boot's rules and is used at once, without a restart: new token keys, the passwords of the next
// connections to PostgreSQL and Redis. Refused values leave the ones in use in place.

const run = promisify(execFile);
const EMAIL = 'rotation@example.com';
const PASSWORD = 'correct horse battery staple';
const KEY_A = 'rotation-test-key-a-0123456789abcdefghijklmnop';
const KEY_B = 'rotation-test-key-b-0123456789abcdefghijklmnop';
const KEY_C = 'rotation-test-key-c-0123456789abcdefghijklmnop';

let services: DataServices;
let app: FastifyInstance;
let baseUrl: string;
/** The secrets as Infisical would hand them over; each test changes some. */
let managed: Map<string, string>;
const scratch = mkdtempSync(join(tmpdir(), 'pdpl-rotation-'));

before(async () => {
  services = await startDataServices({
    // Pooled connections close soon when idle, so the next request needs a new one.
    env: { JWT_SECRET: KEY_A, DATABASE_IDLE_TIMEOUT_MS: '200' },
    redisHostPort: await freePort(),
  });
  await services.migrate();
  await services.createUser(EMAIL, PASSWORD);
  app = await buildApp(services.settings);
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const { env } = services;
  managed = new Map([
    ['DATABASE_PASSWORD', env.DATABASE_PASSWORD as string],
    ['REDIS_PASSWORD', env.REDIS_PASSWORD as string],
    ['JWT_SECRET', KEY_A],
    ['JWT_PREVIOUS_SECRET', ''],
  ]);
});

after(async () => {
  await app?.close();
  await services?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const rotate = (changes: Record<string, string>) => {
  for (const [name, value] of Object.entries(changes)) managed.set(name, value);
  return applyRefreshedSecrets(app, managed, { env: services.env });
};

async function logIn(): Promise<string> {
  const { status, body } = await call(baseUrl, 'POST', '/v1/auth/login', {
    body: { email: EMAIL, password: PASSWORD, refreshTransport: 'body' },
  });
  assert.equal(status, 200);
  return body.accessToken;
}

/** The `kid` in the token's header: which key signed it. */
const keyOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid;

const me = async (token: string) => (await call(baseUrl, 'GET', '/v1/me', { token })).status;

describe('the token key', () => {
  it('should sign with the new key at once, verify the old one while it is the previous, and drop it when retired', async () => {
    const before = await logIn();
    assert.equal(keyOf(before), keyIdOf(KEY_A));

    assert.equal(rotate({ JWT_SECRET: KEY_B, JWT_PREVIOUS_SECRET: KEY_A }), true);
    const after = await logIn();

    assert.equal(keyOf(after), keyIdOf(KEY_B));
    assert.equal(await me(before), 200, "the previous key's tokens stay valid");
    assert.equal(await me(after), 200);

    assert.equal(rotate({ JWT_PREVIOUS_SECRET: KEY_C }), true);

    assert.equal(await me(before), 401, 'a retired key verifies nothing, remembered verifications included');
    assert.equal(await me(after), 200);
  });

  it('should refuse an empty key from the secret manager and keep the keys in use', async () => {
    const token = await logIn();

    assert.equal(rotate({ JWT_SECRET: '' }), false);

    assert.equal(await me(token), 200);
    managed.set('JWT_SECRET', KEY_B);
  });
});

describe('the database password', () => {
  it('should log the next connections in with the new password', async () => {
    const token = await logIn();
    const rotated = 'rotated+db/pass=word$1@x:y';
    // As an operator does it, as the superuser inside the container; psql reads the password as a variable.
    execFileSync(
      'docker',
      [
        'exec',
        '-i',
        services.postgres.getId(),
        'psql',
        '-U',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        `pw=${rotated}`,
      ],
      { input: "ALTER ROLE pdpl_app PASSWORD :'pw';\n", stdio: ['pipe', 'ignore', 'inherit'] },
    );
    // Idle connections close; a new one with the old password is refused.
    await waitFor('the old password refused', async () => (await me(token)) === 503, 10_000);

    rotate({ DATABASE_PASSWORD: rotated });

    assert.equal(await me(token), 200);
  });
});

/** How many of the API's connections to Redis are subscribed to a channel (CLIENT LIST, as the operator). */
async function apiSubscribers(): Promise<number> {
  const { output } = await services.redis.exec([
    'sh',
    '-c',
    'REDISCLI_AUTH="$(cat /run/secrets/redis_operator_password)" ' +
      'redis-cli --tls --cacert /run/secrets/tls_ca --user pdpl_operator -h 127.0.0.1 CLIENT LIST',
  ]);
  return output.split('\n').filter((line) => / user=pdpl_api /.test(line) && / flags=P /.test(line)).length;
}

describe('the Redis password', () => {
  it('should log in again with the new password once Redis has it', async () => {
    const rotated = 'rotated+redis/pass=word$1@x:y';
    const file = join(scratch, 'redis_password');
    writeFileSync(file, rotated, { mode: 0o644 });
    await run('docker', ['cp', file, `${services.redis.getId()}:/run/secrets/redis_password`]);
    await run('docker', ['restart', services.redis.getId()]);
    // Back on the same port, and serving: Redis now refuses only the password the API still has.
    const starts = async () =>
      (await run('docker', ['logs', services.redis.getId()])).stdout.split('Ready to accept').length - 1;
    await waitFor('Redis back', async () => (await starts()) === 2, 15_000);
    assert.equal((await call(baseUrl, 'GET', '/health/ready')).status, 503);

    rotate({ REDIS_PASSWORD: rotated });

    await waitFor('readiness', async () => (await call(baseUrl, 'GET', '/health/ready')).status === 200, 15_000);
    // The copy of revocations logs in on a connection of its own: it must be subscribed again, with the new
    // password too, or every token check would go on asking Redis.
    await waitFor('the revocation copy subscribed again', async () => (await apiSubscribers()) === 1, 15_000);
  });
});
