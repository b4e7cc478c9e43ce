import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { StartedTestContainer } from 'testcontainers';
import { POSTGRES_PASSWORDS, startPostgres } from './postgres-container.ts';
import { startRedis } from './redis-container.ts';
import { testCertificates } from './test-certificates.ts';

// What the platform's PostgreSQL and Redis give Infisical (compose/infisical.yml, issue #6): its own role owning
// its own database, and its own Redis user, both over TLS only, with no way to the platform's data. Infisical
// itself cannot run here (its image cannot be pulled): these tests play its part with the clients it uses (pg,
// ioredis) and the commands BullMQ and its cache send. Every refusal has a control beside it that the same server
// accepts.

const run = promisify(execFile);
// As secrets:generate makes them (base64url): Infisical's wrapper puts them into URLs unescaped.
const INFISICAL_DB_PASSWORD = 'Infisical_role-Passw0rd-for-tests-only_0a9Z';
const INFISICAL_REDIS_PASSWORD = 'Infisical_user-Passw0rd-for-tests-only_7qX';
const REDIS_API_PASSWORD = 'api-password-for-tests-only';
const REDIS_OPERATOR_PASSWORD = 'operator-password-for-tests-only';
const INSUFFICIENT_PRIVILEGE = '42501';

let tlsDir: string;
// PGDATA on the host, so that a second server can start on the first one's data without the password file.
const dataDir = mkdtempSync(join(tmpdir(), 'pdpl-infisical-pgdata-'));
let postgres: StartedTestContainer;
let redis: StartedTestContainer;
/** The same Redis image started without REDIS_INFISICAL_PASSWORD_FILE, as docker-compose.yml alone runs it. */
let redisWithout: StartedTestContainer;
const clients: { end(): Promise<void> }[] = [];
const redisClients: Redis[] = [];

before(async () => {
  tlsDir = testCertificates();
  // The image's postgres user (uid 999) owns PGDATA, as on the compose volume.
  chownSync(dataDir, 999, 999);
  const passwords = { tlsDir, apiPassword: REDIS_API_PASSWORD, operatorPassword: REDIS_OPERATOR_PASSWORD };
  [postgres, redis, redisWithout] = await Promise.all([
    startPostgres({ tlsDir, dataDir, infisicalPassword: INFISICAL_DB_PASSWORD }),
    startRedis({ ...passwords, infisicalPassword: INFISICAL_REDIS_PASSWORD }),
    startRedis(passwords),
  ]);
  // A table of the platform's, where migrations put them.
  const owner = await connect({ user: 'pdpl_owner', password: POSTGRES_PASSWORDS.owner, database: 'pdpl' });
  await owner.query('CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)');
  await owner.end();
});

after(async () => {
  for (const client of redisClients) client.disconnect();
  await Promise.allSettled(clients.map((client) => client.end()));
  await Promise.allSettled([postgres?.stop(), redis?.stop(), redisWithout?.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

interface ConnectOptions {
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly ssl?: pg.ClientConfig['ssl'];
  readonly server?: StartedTestContainer;
}

/** As Infisical connects (DB_ROOT_CERT: the platform's CA, rejectUnauthorized, the name checked), by default. */
async function connect(options: ConnectOptions = {}): Promise<pg.Client> {
  const server = options.server ?? postgres;
  const client = new pg.Client({
    host: server.getHost(),
    port: server.getMappedPort(5432),
    user: options.user ?? 'infisical',
    password: options.password ?? INFISICAL_DB_PASSWORD,
    database: options.database ?? 'infisical',
    ssl: options.ssl ?? { ca: readFileSync(join(tlsDir, 'ca.crt'), 'utf8'), rejectUnauthorized: true },
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  clients.push(client);
  return client;
}

/** The SQLSTATE the statement fails with as Infisical, or undefined when it works. */
async function failureOf(sql: string): Promise<string | undefined> {
  const client = await connect();
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  } finally {
    await client.end();
  }
}

/** A query as the superuser, on the socket inside the container: one line per row, columns separated by spaces. */
async function asSuperuser(sql: string, database = 'pdpl', server = postgres): Promise<string[]> {
  const psql = ['psql', '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-AtF', ' ', '-c', sql];
  const { stdout } = await run('docker', ['exec', server.getId(), ...psql]);
  return stdout.trim().split('\n');
}

describe('PostgreSQL: the role infisical', () => {
  it('should log in over TLS verified against the platform CA, to its own database', async () => {
    const client = await connect();

    const { rows } = await client.query(
      'SELECT ssl, current_database() AS db FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    await client.end();
    assert.deepEqual(rows[0], { ssl: true, db: 'infisical' });
  });

  it('should refuse it without TLS, or with a wrong password', async () => {
    await assert.rejects(connect({ ssl: false }), /pg_hba\.conf rejects connection .* no encryption/);
    await assert.rejects(connect({ password: `${INFISICAL_DB_PASSWORD}x` }), /password authentication failed/);
  });

  it('should let it create, fill and drop tables, and add trusted extensions, in its own database', async () => {
    const client = await connect();

    await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    await client.query('CREATE TABLE secrets (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), value bytea)');
    await client.query("INSERT INTO secrets (value) VALUES (digest('x', 'sha256'))");
    const { rows } = await client.query('SELECT count(*)::int AS count FROM secrets');
    await client.query('CREATE TABLE scratch (id int)');
    await client.query('DROP TABLE scratch');
    await client.end();
    assert.equal(rows[0].count, 1);
  });

  it('should not reach database pdpl: pg_hba.conf refuses it, and it holds no right there', async () => {
    await assert.rejects(connect({ database: 'pdpl' }), /no pg_hba\.conf entry .* user "infisical", database "pdpl"/);
    const rights = await asSuperuser(
      "SELECT has_database_privilege('infisical', 'pdpl', 'CONNECT'), has_schema_privilege('infisical', 'pdpl', " +
        "'USAGE'), has_table_privilege('infisical', 'pdpl.people', 'SELECT')",
    );

    assert.deepEqual(rights, ['f f f']);
  });

  it("should keep the platform's roles out of database infisical", async () => {
    const app = { user: 'pdpl_app', password: POSTGRES_PASSWORDS.app, database: 'infisical' };

    await assert.rejects(connect(app), /no pg_hba\.conf entry .* user "pdpl_app", database "infisical"/);
    const rights = await asSuperuser(
      "SELECT string_agg(has_database_privilege(name, 'infisical', 'CONNECT')::text, ' ') FROM unnest(ARRAY" +
        "['pdpl_owner', 'pdpl_app', 'pdpl_readonly', 'pdpl_backup']) AS name",
    );
    assert.deepEqual(rights, ['false false false false']);
  });

  it('should own its database and no more: 30 connections, no attribute or membership to more rights', async () => {
    const [role] = await asSuperuser(
      [
        'SELECT rolconnlimit, rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls,',
        '(SELECT count(*) FROM pg_auth_members WHERE member = r.oid),',
        "(SELECT datdba::regrole FROM pg_database WHERE datname = 'infisical')",
        "FROM pg_roles AS r WHERE rolname = 'infisical'",
      ].join(' '),
    );

    assert.equal(role, '30 f 0 infisical');
    assert.equal(await failureOf('CREATE DATABASE other'), INSUFFICIENT_PRIVILEGE);
    assert.equal(await failureOf('CREATE ROLE intruder'), INSUFFICIENT_PRIVILEGE);
  });

  it('should take back at the next start what was granted to it by hand since', async () => {
    await asSuperuser('GRANT pdpl_owner TO infisical');
    await asSuperuser('GRANT CONNECT ON DATABASE pdpl TO infisical');
    await asSuperuser('GRANT USAGE ON SCHEMA pdpl TO infisical');
    await asSuperuser('ALTER ROLE infisical CREATEROLE CONNECTION LIMIT -1');
    assert.equal(await failureOf('CREATE ROLE drifted'), undefined, 'the drift took effect');

    await postgres.restart();

    const [state] = await asSuperuser(
      [
        'SELECT rolcreaterole, rolconnlimit, (SELECT count(*) FROM pg_auth_members WHERE member = r.oid),',
        "has_database_privilege('infisical', 'pdpl', 'CONNECT'), has_schema_privilege('infisical', 'pdpl', 'USAGE')",
        "FROM pg_roles AS r WHERE rolname = 'infisical'",
      ].join(' '),
    );
    assert.equal(state, 'f 30 0 f f');
    assert.equal(await failureOf('CREATE ROLE drifted_again'), INSUFFICIENT_PRIVILEGE);
  });

  // Last: it stops the server, to start another on the same data without the password file.
  it('should lock the role, and keep its database, at a start without POSTGRES_INFISICAL_PASSWORD_FILE', async () => {
    await postgres.stop();
    const without = await startPostgres({ tlsDir, dataDir });
    try {
      await assert.rejects(
        connect({ server: without }),
        /no pg_hba\.conf entry .* user "infisical", database "infisical"/,
      );
      const [role] = await asSuperuser(
        "SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = 'infisical'",
        'pdpl',
        without,
      );
      const kept = await asSuperuser('SELECT count(*) FROM secrets', 'infisical', without);
      const control = await connect({
        server: without,
        user: 'pdpl_app',
        password: POSTGRES_PASSWORDS.app,
        database: 'pdpl',
      });
      await control.end();

      assert.equal(role, 'f t');
      assert.deepEqual(kept, ['1']);
    } finally {
      await without.stop();
    }
  });
});

/** A TLS connection to a Redis, logged in as the user, that never retries: each test reads each answer itself. */
async function redisAs(username: string, password: string, server = redis): Promise<Redis> {
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
  redisClients.push(client);
  await client.connect();
  assert.equal(await client.call('AUTH', username, password), 'OK');
  return client;
}

const infisicalUser = () => redisAs('pdpl_infisical', INFISICAL_REDIS_PASSWORD);

describe('Redis: the user pdpl_infisical', () => {
  it('should run what BullMQ, Redlock and Infisical cache send, on keys of their own', async () => {
    const client = await infisicalUser();
    const queue = 'bull:secret-sync';
    const script = "return redis.call('HSET', KEYS[1], 'data', ARGV[1])";

    const answers = [
      await client.call('CLIENT', 'SETNAME', 'bull:c2VjcmV0LXN5bmM='),
      typeof (await client.call('INFO', 'server')),
      await client.call('EVAL', script, '1', `${queue}:1`, '{}'),
      await client.call('EVALSHA', String(await client.call('SCRIPT', 'LOAD', script)), '1', `${queue}:2`, '{}'),
      await client.call('HINCRBY', `${queue}:1`, 'attemptsMade', '1'),
      await client.call('ZADD', `${queue}:delayed`, '1700000000000', '2'),
      await client.call('ZRANGEBYSCORE', `${queue}:delayed`, '0', '+inf', 'LIMIT', '0', '1'),
      await client.call('LPUSH', `${queue}:wait`, '1'),
      await client.call('BLMOVE', `${queue}:wait`, `${queue}:active`, 'RIGHT', 'LEFT', '1'),
      await client.call('RPUSH', `${queue}:wait`, '3'),
      await client.call('BRPOPLPUSH', `${queue}:wait`, `${queue}:active`, '1'),
      typeof (await client.call('XADD', `${queue}:events`, 'MAXLEN', '~', '10000', '*', 'event', 'added')),
      Array.isArray(await client.call('XREAD', 'BLOCK', '10', 'STREAMS', `${queue}:events`, '0')),
      await client.call('SET', 'secret-sync-mutex-1', 'lock', 'NX', 'PX', '30000'),
      await client.call('SET', 'project-permission-data:1', 'x', 'EX', '600'),
      await client.call('INCRBY', 'identity-lockout-lock-1', '1'),
      await client.call('UNLINK', 'project-permission-data:1'),
      Array.isArray(await client.call('SCAN', '0', 'MATCH', 'secret-sync-*', 'COUNT', '1000')),
      await client.call('PUBLISH', 'infisical:events', 'x'),
    ];

    assert.deepEqual(answers, [
      'OK',
      'string',
      1,
      1,
      1,
      1,
      ['2'],
      1,
      '1',
      1,
      '3',
      'string',
      true,
      'OK',
      'OK',
      1,
      1,
      true,
      0,
    ]);
  });

  it('should subscribe to channels and patterns, as its events do', async () => {
    const subscriber = await infisicalUser();

    assert.equal(await subscriber.subscribe('infisical:events'), 1);
    assert.equal(await subscriber.psubscribe('infisical:*'), 2);
  });

  for (const command of [
    ['FLUSHALL'],
    ['FLUSHDB'],
    ['CONFIG', 'GET', 'maxmemory'],
    ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
    ['DEBUG', 'SLEEP', '0'],
    ['SHUTDOWN'],
    ['MODULE', 'LIST'],
    ['ACL', 'SETUSER', 'pdpl_infisical', '+@all', 'allkeys'],
    ['ACL', 'WHOAMI'],
    ['REPLICAOF', '203.0.113.1', '6379'],
    ['KEYS', '*'],
    ['MONITOR'],
    ['CLIENT', 'KILL', 'TYPE', 'normal'],
    ['BGSAVE'],
  ] as [string, ...string[]][]) {
    it(`should be refused ${command.join(' ')}, and still be served PING`, async () => {
      const client = await infisicalUser();
      const operator = await redisAs('pdpl_operator', REDIS_OPERATOR_PASSWORD);

      // Redis refuses DEBUG and MODULE to everyone before the ACL is asked (redis.conf); ACL DRYRUN asks it.
      const refusal = ['DEBUG', 'MODULE'].includes(command[0]) ? /command not allowed|NOPERM/ : /^ReplyError: NOPERM/;
      await assert.rejects(client.call(...command), refusal);
      assert.match(String(await operator.call('ACL', 'DRYRUN', 'pdpl_infisical', ...command)), /no permissions/);
      assert.equal(await client.ping(), 'PONG');
    });
  }

  it("should be refused the API's keys, even from a script, and served keys that only look like them", async () => {
    const client = await infisicalUser();
    const api = await redisAs('pdpl_api', REDIS_API_PASSWORD);
    await api.set('auth:session:1', 'revoked');

    await assert.rejects(client.get('auth:session:1'), /NOPERM/);
    await assert.rejects(client.del('auth:session:1'), /NOPERM/);
    await assert.rejects(client.set('rate:login:1', '0'), /NOPERM/);
    await assert.rejects(client.eval("return redis.call('DEL', KEYS[1])", 1, 'auth:session:1'), /NOPERM/);
    await assert.rejects(
      client.eval("return redis.call('DEL', 'auth:session:1')", 0),
      /ACL failure in script: No permissions to access a key/,
    );
    assert.equal(await api.get('auth:session:1'), 'revoked');

    for (const key of ['a', 'au', 'aut', 'auth', 'authority:1', 'auth-x', 'r', 'rate', 'rate-limit:1', 'ratex', 'b']) {
      assert.equal(await client.set(key, '1'), 'OK', key);
    }
    assert.equal(await client.del('auth-x', 'rate-limit:1'), 2);
  });

  it('should not exist where REDIS_INFISICAL_PASSWORD_FILE is not given', async () => {
    const operator = await redisAs('pdpl_operator', REDIS_OPERATOR_PASSWORD, redisWithout);

    await assert.rejects(redisAs('pdpl_infisical', INFISICAL_REDIS_PASSWORD, redisWithout), /WRONGPASS/);
    assert.equal(await operator.call('ACL', 'GETUSER', 'pdpl_infisical'), null);
  });
});
