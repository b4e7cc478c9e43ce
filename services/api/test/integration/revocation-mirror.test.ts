import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Settings } from '@pdpl/config';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RevocationMirror, STALE_AFTER_MS } from '../../src/auth/revocation-mirror.ts';
import { SessionStore } from '../../src/auth/sessions.ts';
import type { TokenClaims } from '../../src/auth/tokens.ts';
import { createRedis } from '../../src/redis-client.ts';
import type { DataServices } from './data-services.ts';
import { REDIS_OPERATOR_PASSWORD, startDataServices } from './data-services.ts';

// Each instance's copy of the revocations, against a real Redis: it learns of changes from other instances within
// a second, reads everything again after losing its subscription, and says it is stale when Redis goes quiet.

const run = promisify(execFile);
const log = pino({ level: 'silent' });
let services: DataServices;
let settings: Settings;
const opened: { stop(): void }[] = [];

before(async () => {
  services = await startDataServices();
  settings = services.settings;
});
after(async () => {
  for (const thing of opened) thing.stop();
  await services?.stop();
});

async function instance() {
  const redis = createRedis(settings, log);
  await redis.connect();
  const mirror = new RevocationMirror(redis, log);
  mirror.start();
  opened.push({
    stop() {
      mirror.stop();
      redis.disconnect();
    },
  });
  return { redis, mirror, sessions: new SessionStore(redis, 3600, mirror) };
}

async function eventually(condition: () => boolean, withinMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) assert.fail(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

const claims = (fam: string, sub = 'user-1', sat = Date.now() - 60_000): TokenClaims => ({
  sub,
  jti: `jti-${fam}`,
  typ: 'access',
  fam,
  sat,
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 600,
});

describe('the revocation copy of each instance', () => {
  it('should become fresh once started, and hold what was revoked before it started', async () => {
    const first = await instance();
    await first.sessions.endSession(claims('ended-before-start'));

    const late = await instance();
    await eventually(() => late.mirror.fresh(), 3_000, 'fresh');

    assert.ok(late.mirror.isEnded('ended-before-start'));
    assert.equal(await late.sessions.stateOf(claims('ended-before-start')), 'revoked');
    assert.equal(await late.sessions.stateOf(claims('still-open')), 'valid');
  });

  it('should learn of a logout and of "log out everywhere" on another instance within a second', async () => {
    const [a, b] = [await instance(), await instance()];
    await eventually(() => b.mirror.fresh(), 3_000, 'fresh');

    await a.sessions.endSession(claims('ended-elsewhere'));
    await a.sessions.endAllSessions('user-everywhere');
    const waited = await eventually(
      () => b.mirror.isEnded('ended-elsewhere') && b.mirror.logoutAllOf('user-everywhere') > 0,
      1_000,
      'heard',
    );

    assert.ok(waited < 1_000);
    assert.equal(await b.sessions.stateOf(claims('any', 'user-everywhere')), 'revoked');
    assert.equal(await b.sessions.stateOf(claims('any', 'user-everywhere', Date.now() + 5)), 'valid');
  });

  it('should go stale when its subscription is cut, then read again what it missed', async () => {
    const b = await instance();
    await eventually(() => b.mirror.fresh(), 3_000, 'fresh');
    // Cutting connections is the operator's right; the write is the API user's.
    const admin = new Redis({ ...redisOptions(), username: 'pdpl_operator', password: REDIS_OPERATOR_PASSWORD });
    const writer = new Redis(redisOptions());
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
      // Written straight to Redis with no message: only a full read can find it.
      await writer.set('auth:ended:missed-while-cut', '1', 'EX', 600);

      await eventually(() => b.mirror.fresh() && b.mirror.isEnded('missed-while-cut'), 5_000, 'resynced');
    } finally {
      admin.disconnect();
      writer.disconnect();
    }
  });

  it('should go stale within a second when Redis goes quiet, so checks ask Redis and fail closed', async () => {
    const b = await instance();
    await eventually(() => b.mirror.fresh(), 3_000, 'fresh');
    await run('docker', ['pause', services.redis.getId()]);
    try {
      await eventually(() => !b.mirror.fresh(), STALE_AFTER_MS + 500, 'stale');

      await assert.rejects(b.sessions.stateOf(claims('asked-while-paused')), { name: 'RedisUnavailableError' });
    } finally {
      await run('docker', ['unpause', services.redis.getId()]);
    }
    await eventually(() => b.mirror.fresh(), 5_000, 'fresh again');
  });
});

function redisOptions() {
  const { host, port, username, password, caFile } = settings.redis;
  return { host, port, username, password, tls: { ca: readFileSync(caFile) } };
}
