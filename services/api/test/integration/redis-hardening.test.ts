import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Settings } from '@pdpl/config';
import { loadConfig } from '@pdpl/config';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { StartedTestContainer } from 'testcontainers';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../../src/app.ts';
import { RevocationMirror } from '../../src/auth/revocation-mirror.ts';
import { sessionKey } from '../../src/auth/session-keys.ts';
import { SessionStore } from '../../src/auth/sessions.ts';
import type { TokenClaims } from '../../src/auth/tokens.ts';
import { createRedis } from '../../src/redis-client.ts';
import { startRedis } from './redis-container.ts';
import { foreignCertificates, testCertificates } from './test-certificates.ts';

// The platform's Redis image as production runs it (issue #5): TLS only, the default user off, the API's user held
// to its own commands, keys and channel, revocations kept through a crash; and the API refusing to start, naming
// the setting to fix, when Redis refuses it. Every refusal has a control beside it that the same server accepts,
// so no test passes because nothing works at all.

// The characters that break URL-style credentials, to prove they work end to end.
const API_PASSWORD = 'api+pa/ss=wo$rd@with:colons';
const OPERATOR_PASSWORD = 'operator-password-for-tests-only';
// The healthcheck of the redis service, read from docker-compose.yml, with compose's $$ unescaped.
const COMPOSE_FILE = fileURLToPath(new URL('../../../../docker-compose.yml', import.meta.url));
const HEALTHCHECK = String(parseYaml(readFileSync(COMPOSE_FILE, 'utf8')).services.redis.healthcheck.test[1]).replaceAll(
  '$$',
  '$',
);
const silent = pino({ level: 'silent' });
const run = promisify(execFile);

let tlsDir: string;
let server: StartedTestContainer;
/** The same image told to listen in plain text instead: a Redis deployed without TLS. */
let plainServer: StartedTestContainer;
let operator: Redis;
let api: Redis;
const opened: Redis[] = [];

before(async () => {
  tlsDir = testCertificates();
  const passwords = { tlsDir, apiPassword: API_PASSWORD, operatorPassword: OPERATOR_PASSWORD };
  [server, plainServer] = await Promise.all([
    startRedis(passwords),
    startRedis({ ...passwords, serverArgs: ['--port', '6379', '--tls-port', '0'] }),
  ]);
  operator = await loggedIn('pdpl_operator', OPERATOR_PASSWORD);
  api = await loggedIn('pdpl_api', API_PASSWORD);
});

after(async () => {
  for (const client of opened) client.disconnect();
  await Promise.allSettled([server?.stop(), plainServer?.stop()]);
});

/** A TLS connection not logged in yet, which never retries: each test reads each answer itself. */
async function connection(): Promise<Redis> {
  const client = new Redis({
    host: server.getHost(),
    port: server.getMappedPort(6379),
    tls: { ca: readFileSync(join(tlsDir, 'ca.crt')) },
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  opened.push(client);
  await client.connect();
  return client;
}

async function loggedIn(username: string, password: string): Promise<Redis> {
  const client = await connection();
  assert.equal(await client.call('AUTH', username, password), 'OK');
  return client;
}

/** What a plain-text client hears on a port, and whether the server then closed the connection. */
function askInPlainText(host: string, port: number, line: string): Promise<{ heard: string; closed: boolean }> {
  return new Promise((resolve) => {
    let heard = '';
    const socket = connect({ host, port }, () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      heard += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ heard, closed: true }));
    setTimeout(() => {
      socket.destroy();
      resolve({ heard, closed: false });
    }, 3_000).unref();
  });
}

/** A test-environment API's settings, as the API's user over TLS, with some variables changed. */
function apiEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'integration-test-secret-0123456789abcdefghij',
    REDIS_HOST: server.getHost(),
    REDIS_PORT: String(server.getMappedPort(6379)),
    REDIS_USERNAME: 'pdpl_api',
    REDIS_PASSWORD: API_PASSWORD,
    REDIS_TLS: 'true',
    REDIS_CA_FILE: join(tlsDir, 'ca.crt'),
    REDIS_CONNECT_TIMEOUT_MS: '1000',
    ...overrides,
  };
}

const apiSettings = (overrides: Record<string, string> = {}): Settings => loadConfig({ env: apiEnv(overrides) });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

/** One setting of the running server, read as the operator. */
async function configOf(name: string): Promise<string> {
  const [, value] = (await operator.call('CONFIG', 'GET', name)) as [string, string];
  return value;
}

const claims = (fam: string, sub: string): TokenClaims => ({
  sub,
  jti: `jti-${fam}`,
  typ: 'access',
  fam,
  sat: Date.now() - 60_000,
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 600,
});

describe('pdpl/redis: TLS only', () => {
  it('should close a plain-text connection unanswered, and answer over TLS on the same port', async () => {
    const plain = await askInPlainText(server.getHost(), server.getMappedPort(6379), 'PING');

    assert.deepEqual(plain, { heard: '', closed: true });
    assert.equal(await operator.ping(), 'PONG');
    assert.equal(await configOf('port'), '0');
    assert.equal(await configOf('tls-port'), '6379');
  });

  it('should offer TLS 1.2 and 1.3 only, without asking clients for a certificate', async () => {
    assert.equal(await configOf('tls-protocols'), 'TLSv1.2 TLSv1.3');
    assert.equal(await configOf('tls-auth-clients'), 'no');
  });
});

describe('pdpl/redis: logins', () => {
  it('should refuse a wrong password, and take the right one', async () => {
    const client = await connection();

    await assert.rejects(client.call('AUTH', 'pdpl_api', `${API_PASSWORD}x`), /WRONGPASS/);
    assert.equal(await client.call('AUTH', 'pdpl_api', API_PASSWORD), 'OK');
  });

  it('should let no one in as the default user, and the API user in on the same connection', async () => {
    const client = await connection();

    await assert.rejects(client.ping(), /NOAUTH/);
    await assert.rejects(client.call('AUTH', 'any-password'), /WRONGPASS/);
    await assert.rejects(client.call('AUTH', 'default', OPERATOR_PASSWORD), /WRONGPASS/);
    assert.equal(await client.call('AUTH', 'pdpl_api', API_PASSWORD), 'OK');
    assert.equal(await client.ping(), 'PONG');
  });

  // Redis replays the append-only file as the default user, and Redis 8.0 (Debian's) checks each MULTI/EXEC block
  // against that user's rights again while loading: with fewer, it silently drops the transactions (every logout)
  // at each restart (redis/redis#14541; compose/redis/docker-entrypoint.sh). Off and without a password, no one can
  // use those rights.
  it('should keep the default user off and passwordless, yet holding every right, for the AOF replay', async () => {
    const reply = (await operator.call('ACL', 'GETUSER', 'default')) as unknown[];
    const user = Object.fromEntries(
      Array.from({ length: reply.length / 2 }, (_, i) => [reply[2 * i], reply[2 * i + 1]]),
    );
    const client = await connection();

    // nopass would let any password in, were the user switched on.
    assert.ok(user.flags.includes('off') && !user.flags.includes('nopass'), `flags: ${user.flags.join(' ')}`);
    assert.deepEqual(user.passwords, []);
    assert.equal(user.commands, '+@all');
    assert.equal(user.keys, '~*');
    assert.equal(user.channels, '&*');
    for (const command of [['FLUSHALL'], ['MULTI'], ['SET', 'any:key', '1'], ['EXEC']]) {
      assert.equal(await operator.call('ACL', 'DRYRUN', 'default', ...command), 'OK', command.join(' '));
    }
    await assert.rejects(client.call('AUTH', 'default', ''), /WRONGPASS/);
    await assert.rejects(client.call('AUTH', 'default', API_PASSWORD), /WRONGPASS/);
    await assert.rejects(client.call('FLUSHALL'), /NOAUTH/);
    assert.equal(await client.call('AUTH', 'pdpl_operator', OPERATOR_PASSWORD), 'OK');
  });

  it("should take a password holding + / = $ @ : through the API's own client", async () => {
    const client = createRedis(apiSettings(), silent);
    try {
      await client.connect();

      assert.equal(await client.ping(), 'PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe("pdpl/redis: the API's user", () => {
  for (const command of [
    ['FLUSHALL'],
    ['FLUSHDB'],
    ['CONFIG', 'GET', 'maxmemory'],
    ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
    ['DEBUG', 'SLEEP', '0'],
    ['KEYS', '*'],
    ['SHUTDOWN'],
  ] as [string, ...string[]][]) {
    it(`should be refused ${command.join(' ')} by the ACL, and still be served PING`, async () => {
      // Redis refuses DEBUG to everyone before the ACL is asked (enable-debug-command no); ACL DRYRUN asks it.
      const refusal = command[0] === 'DEBUG' ? /DEBUG command not allowed/ : /^ReplyError: NOPERM/;
      await assert.rejects(api.call(...command), refusal);
      assert.match(String(await operator.call('ACL', 'DRYRUN', 'pdpl_api', ...command)), /no permissions to run/);
      assert.equal(await operator.call('ACL', 'DRYRUN', 'pdpl_api', 'PING'), 'OK');
      assert.equal(await api.ping(), 'PONG');
    });
  }

  it('should be refused keys outside auth:* and rate:*, even from a script, and served keys inside', async () => {
    await assert.rejects(api.set('other:key', '1'), /NOPERM/);
    await assert.rejects(api.get('session:key'), /NOPERM/);
    await assert.rejects(api.eval("return redis.call('GET', KEYS[1])", 1, 'other:key'), /NOPERM/);
    // Keys a script names only inside it are checked too, at the call.
    await assert.rejects(
      api.eval("return redis.call('SET', 'other:key', '1')", 0),
      /ACL failure in script: No permissions to access a key/,
    );

    assert.equal(await api.set('auth:test:key', '1'), 'OK');
    assert.equal(await api.set('rate:test:key', '1'), 'OK');
    assert.equal(await api.eval("return redis.call('GET', KEYS[1])", 1, 'auth:test:key'), '1');
  });

  it('should be refused channels other than auth:revocations, and served that one', async () => {
    const subscriber = await loggedIn('pdpl_api', API_PASSWORD);

    await assert.rejects(api.publish('other-channel', 'x'), /NOPERM/);
    await assert.rejects(subscriber.subscribe('other-channel'), /NOPERM/);
    assert.equal(await api.publish('auth:revocations', 'heartbeat'), 0);
    assert.equal(await subscriber.subscribe('auth:revocations'), 1);
  });
});

describe('pdpl/redis: the operator', () => {
  it('should find what keeps revocations: no eviction, the AOF every second and RDB snapshots', async () => {
    assert.equal(await configOf('maxmemory-policy'), 'noeviction');
    assert.ok(Number(await configOf('maxmemory')) > 0, 'maxmemory is set');
    assert.equal(await configOf('appendonly'), 'yes');
    assert.equal(await configOf('appendfsync'), 'everysec');
    assert.notEqual(await configOf('save'), '');
  });

  it('should be able to inspect, and be refused changes to data and settings', async () => {
    assert.match(String(await operator.info('server')), /redis_version:/);
    assert.ok(Array.isArray(await operator.call('ACL', 'LOG')));
    assert.ok(Array.isArray(await operator.scan('0', 'MATCH', 'auth:*')));
    // Allowed, so a runaway script of the API's can be ended: with none running, Redis says so (not NOPERM).
    await assert.rejects(operator.call('SCRIPT', 'KILL'), /^ReplyError: NOTBUSY/);

    for (const command of [
      ['FLUSHALL'],
      ['SET', 'auth:test:key', 'changed'],
      ['DEL', 'auth:test:key'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
      ['ACL', 'SETUSER', 'pdpl_operator', '+@all'],
      ['KEYS', '*'],
      ['SHUTDOWN'],
    ]) {
      await assert.rejects(operator.call(...(command as [string, ...string[]])), /NOPERM/, command.join(' '));
    }
  });

  it("should pass the compose healthcheck, also with Windows line endings, which another user's password fails", async () => {
    const healthy = await server.exec(['sh', '-c', HEALTHCHECK]);
    const crlf = await server.exec([
      'sh',
      '-c',
      `printf '%s\\r\\n' "$(cat /run/secrets/redis_operator_password)" >/tmp/crlf-password && ` +
        HEALTHCHECK.replace('/run/secrets/redis_operator_password', '/tmp/crlf-password'),
    ]);
    const wrongPassword = await server.exec([
      'sh',
      '-c',
      HEALTHCHECK.replace('redis_operator_password', 'redis_password'),
    ]);

    assert.equal(healthy.exitCode, 0, healthy.output);
    assert.equal(crlf.exitCode, 0, crlf.output);
    assert.notEqual(wrongPassword.exitCode, 0);
  });
});

describe('pdpl/redis: how it starts', () => {
  it("should read the TLS pair where it is mounted when started as the image's user", async () => {
    const status = await server.exec(['grep', '^Uid:', '/proc/1/status']);

    assert.match(status.output, /^Uid:\s+998\s/);
    assert.equal(await configOf('tls-key-file'), '/run/secrets/redis_tls_private_key');
  });

  it('should run redis-server as redis, with its own copy of a key only root reads, when started as root', async () => {
    const rooted = await startRedis({
      tlsDir,
      apiPassword: API_PASSWORD,
      operatorPassword: OPERATOR_PASSWORD,
      asRoot: true,
    });
    try {
      const status = await rooted.exec(['grep', '^Uid:', '/proc/1/status']);
      const key = await rooted.exec([
        'stat',
        '-c',
        '%U %a',
        '/tmp/redis/tls.key',
        '/run/secrets/redis_tls_private_key',
      ]);
      const client = createRedis(apiSettings({ REDIS_PORT: String(rooted.getMappedPort(6379)) }), silent);
      await client.connect();
      const answer = await client.ping().finally(() => client.disconnect());

      assert.match(status.output, /^Uid:\s+998\s/);
      assert.deepEqual(key.output.trim().split('\n'), ['redis 600', 'root 400']);
      assert.equal(answer, 'PONG');
    } finally {
      await rooted.stop();
    }
  });
});

// buildApp in a process of its own, closed again if it starts. That process must end by itself: a reconnect loop
// or any handle left open would keep it alive past BOOT_BOUND_MS.
const BOOT = [
  "import { loadConfig } from '@pdpl/config';",
  `import { buildApp } from ${JSON.stringify(import.meta.resolve('../../src/app.ts'))};`,
  'const started = performance.now();',
  'try {',
  '  const app = await buildApp(loadConfig());',
  "  console.log('started');",
  '  await app.close();',
  '} catch (error) {',
  "  console.log('refused after ' + Math.round(performance.now() - started) + ' ms: ' + error.message);",
  '}',
].join('\n');
const BOOT_BOUND_MS = 20_000;
const REPOSITORY = fileURLToPath(new URL('../../../../', import.meta.url));

interface Boot {
  readonly outcome: 'started' | 'refused';
  /** How long buildApp took to refuse. */
  readonly ms: number;
  readonly message: string;
}

async function boot(env: Record<string, string>): Promise<Boot> {
  const tsx = import.meta.resolve('tsx');
  // Only these variables reach it (and a test environment reads no .env). It runs from the repository so that
  // tsx maps @pdpl/config to its source, as in this process.
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', BOOT], {
    env: { PATH: process.env.PATH, ...env },
    cwd: REPOSITORY,
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_BOUND_MS);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);

  assert.equal(signal, null, `still running after ${BOOT_BOUND_MS} ms (a reconnect loop?): ${output}`);
  assert.equal(code, 0, output);
  if (/^started$/m.test(output)) return { outcome: 'started', ms: 0, message: '' };
  const refused = /^refused after (\d+) ms: (.*)$/m.exec(output);
  assert.ok(refused, `neither started nor refused: ${output}`);
  return { outcome: 'refused', ms: Number(refused[1]), message: refused[2] as string };
}

describe('the API at start, when Redis refuses it', () => {
  // A refusal comes in one round trip; only a plain-text Redis takes a connect timeout (REDIS_CONNECT_TIMEOUT_MS).
  const QUICK_MS = 2_500;

  it('should start with the right settings, and end once closed', async () => {
    const started = await boot(apiEnv());

    assert.equal(started.outcome, 'started');
  });

  it('should refuse to start with a wrong password, at once, naming the user and REDIS_PASSWORD', async () => {
    const wrong = 'wrong+pa/ss=wo$rd';
    const refused = await boot(apiEnv({ REDIS_PASSWORD: wrong }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /refused the login of user pdpl_api/);
    assert.match(refused.message, /REDIS_PASSWORD/);
    assert.ok(!refused.message.includes(wrong) && !refused.message.includes(API_PASSWORD), 'a password is shown');
    assert.ok(refused.ms < QUICK_MS, `refused after ${refused.ms} ms`);
  });

  it('should refuse to start as the default user, naming REDIS_USERNAME', async () => {
    const refused = await boot(apiEnv({ REDIS_USERNAME: 'default' }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /user default .*REDIS_USERNAME/);
  });

  it("should refuse to start when REDIS_CA_FILE's CA did not sign Redis's certificate", async () => {
    const foreignCa = join(foreignCertificates(), 'ca.crt');
    const refused = await boot(apiEnv({ REDIS_CA_FILE: foreignCa }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /certificate not signed by the CA in REDIS_CA_FILE/);
    assert.match(refused.message, /set REDIS_CA_FILE to the CA that signs it/);
    assert.ok(refused.ms < QUICK_MS, `refused after ${refused.ms} ms`);
  });

  it('should refuse to start when the certificate does not name REDIS_HOST', async () => {
    // 127.1 reaches the same loopback address under a name the certificate does not cover.
    const refused = await boot(apiEnv({ REDIS_HOST: '127.1' }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /certificate that does not name 127\.1; set REDIS_HOST/);
  });

  it('should refuse to start in plain text against a TLS-only Redis, naming REDIS_TLS', async () => {
    const refused = await boot(apiEnv({ REDIS_TLS: 'false' }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /set REDIS_TLS=true/);
  });

  it('should refuse to start over TLS against a plain-text Redis, which it reaches in plain text', async () => {
    const plainPort = String(plainServer.getMappedPort(6379));
    const refused = await boot(apiEnv({ REDIS_PORT: plainPort }));
    const plain = await boot(apiEnv({ REDIS_PORT: plainPort, REDIS_TLS: 'false' }));

    assert.equal(refused.outcome, 'refused');
    assert.match(refused.message, /answers in plain text, not TLS; set REDIS_PORT .* or REDIS_TLS=false/);
    assert.ok(refused.ms < 1_000 + QUICK_MS, `refused after ${refused.ms} ms`);
    assert.equal(plain.outcome, 'started');
  });

  it('should start while Redis is unreachable, and keep trying in the background', async () => {
    const started = await boot(apiEnv({ REDIS_PORT: '1' }));

    assert.equal(started.outcome, 'started');
  });

  it('should say once, naming REDIS_PASSWORD, when a Redis unreachable at start then refuses the login', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const wrong = 'wrong+pa/ss=wo$rd';
    const settings = apiSettings({ REDIS_PORT: String(port), REDIS_PASSWORD: wrong, LOG_LEVEL: 'warn' });
    const app = await buildApp(settings, { logStream });
    // Redis appears on that port only now: a relay to the server, through which TLS passes untouched.
    const relayed = new Set<Socket>();
    const relay = createServer((socket) => {
      const upstream = connect(server.getMappedPort(6379), server.getHost());
      for (const end of [socket, upstream]) {
        relayed.add(end);
        end.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
    }).listen(port, '127.0.0.1');
    try {
      const started = Date.now();
      const refusals = () => lines.filter((line) => line.includes('redis refuses the API'));
      while (refusals().length === 0 && Date.now() - started < 5_000) await pause(50);
      await pause(2_500);

      assert.ok(lines.some((line) => line.includes('redis not reachable at start')));
      assert.equal(refusals().length, 1, `${refusals().length} refusal lines`);
      assert.match(refusals()[0] as string, /refused the login of user pdpl_api.*REDIS_PASSWORD/);
      assert.ok(!lines.join('').includes(wrong), 'the password is logged');
    } finally {
      for (const socket of relayed) socket.destroy();
      relay.close();
      await app.close();
    }
  });
});

// Last: the restart moves the server to another host port, and ends every connection opened before.
describe('pdpl/redis: revocations through a crash', () => {
  it("should keep what the API's SessionStore revoked, and each instance's copy should read it back", async () => {
    const writer = createRedis(apiSettings(), silent);
    await writer.connect();
    const sessions = new SessionStore(writer, 3_600);
    // A live session, as a login leaves it: ending it deletes this key and writes the ended marker, a transaction
    // of two writes that the append-only file keeps as MULTI/EXEC (a lone write would be kept as it is).
    await writer.set(sessionKey('family-ended'), 'refresh-token-id', 'EX', 3_600);
    await sessions.endSession(claims('family-ended', 'user-1'));
    await sessions.endAllSessions('user-2');
    writer.disconnect();

    // Killed, Redis writes no final snapshot, and no `save` point comes due within the test: whatever survives came
    // through the append-only file. (Given SIGTERM, even with no grace time, Redis would save on its way out.)
    await run('docker', ['kill', '--signal', 'KILL', server.getId()]);
    await server.restart();
    const reader = createRedis(apiSettings(), silent);
    await reader.connect();
    const mirror = new RevocationMirror(reader, silent);
    mirror.start();
    try {
      const store = new SessionStore(reader, 3_600);
      const states = await Promise.all([
        store.stateOf(claims('family-ended', 'user-1')),
        store.stateOf(claims('family-other', 'user-2')),
        store.stateOf(claims('family-standing', 'user-3')),
      ]);
      const started = Date.now();
      while (!mirror.fresh() && Date.now() - started < 5_000) await pause(20);

      assert.deepEqual(states, ['revoked', 'revoked', 'valid']);
      assert.ok(mirror.fresh(), 'the copy read the revocations back within 5 s');
      assert.ok(mirror.isEnded('family-ended'));
      assert.ok(mirror.logoutAllOf('user-2') > 0);
    } finally {
      mirror.stop();
      reader.disconnect();
    }
  });
});
