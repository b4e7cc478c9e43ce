import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { sharedRateCounter } from '../../src/http/shared-rate-counter.ts';
import { createRedis } from '../../src/redis-client.ts';
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
  await services.migrate();
  app = await buildApp(settings);
  await services.createUser(EMAIL, PASSWORD);
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

  it('should hold the budget against attempts sent all at once', async () => {
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, index) => login(`192.0.2.${index + 100}`, 'burst@example.com', 'wrong password!')),
    );

    const passed = burst.filter((answer) => answer.status === 401).length;
    assert.equal(passed, FAILURES, 'only the budget reaches the password check');
    assert.equal(burst.filter((answer) => answer.status === 429).length, 8 - FAILURES);
  });

  it('should clear the count after a success', async () => {
    const email = 'forgetful@example.com';
    await services.createUser(email, PASSWORD);

    await login('192.0.2.200', email, 'wrong password!');
    const success = await login('192.0.2.201', email, PASSWORD);
    const afterSuccess = await login('192.0.2.202', email, 'wrong password!');

    assert.equal(success.status, 200);
    assert.equal(afterSuccess.status, 401, 'a fresh budget, not one failure short of waiting');
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

describe('the general limit, counted in memory and shared through Redis', () => {
  const log = pino({ level: 'silent' });
  const counters: Redis[] = [];
  after(() => {
    for (const redis of counters) redis.disconnect();
  });

  async function counterOn(settings: Settings) {
    const redis = createRedis(settings, log);
    counters.push(redis);
    await redis.connect().catch(() => undefined);
    const Store = sharedRateCounter(redis, 'rate:test:');
    const store = new Store({});
    return (key: string) =>
      new Promise<number>((resolve, reject) =>
        store.incr(key, (error, result) => (error ? reject(error) : resolve(result?.current ?? -1)), 60_000, 10),
      );
  }
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("should learn the other instances' counts within a flush, and keep the total in Redis", async () => {
    const [a, b] = [await counterOn(services.settings), await counterOn(services.settings)];

    for (let request = 0; request < 8; request++) await a('client-1');
    await pause(250);
    const firstOnB = await b('client-1');
    await pause(250);
    const secondOnB = await b('client-1');

    assert.equal(firstOnB, 1, 'before its first exchange, an instance knows only its own count');
    assert.equal(secondOnB, 10, "after it, the others' count too");
    const redis = counters[0] as Redis;
    assert.equal(await redis.get('rate:test:all:client-1'), '9');
    const ttl = await redis.pttl('rate:test:all:client-1');
    assert.ok(ttl > 0 && ttl <= 60_000, `window ${ttl} ms`);
  });

  it('should keep counting on its own while Redis cannot answer', async () => {
    const alone = await counterOn(services.settingsWith({ REDIS_PORT: '1' }));

    const counts = [];
    for (let request = 0; request < 12; request++) counts.push(await alone('client-2'));
    await pause(250);

    assert.deepEqual(counts, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(await alone('client-2'), 13, 'what Redis did not take is still counted');
  });
});
