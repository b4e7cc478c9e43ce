import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import type { StartedTestContainer } from 'testcontainers';
import { POSTGRES_IMAGE, POSTGRES_PASSWORDS, startPostgres, superuserRows } from './postgres-container.ts';
import { foreignCertificates, testCertificates } from './test-certificates.ts';

// The platform's PostgreSQL image as production runs it (checklist 3.2 and 4.4): TLS only, scram-sha-256 only,
// from the platform's network only; roles with the least each needs. Every refusal has a control beside it that
// the same server accepts, so no test passes because nothing connects at all.

const run = promisify(execFile);
const APP_CONNECTION_LIMIT = 4;
const APP_STATEMENT_TIMEOUT = '1s';
const APP_IDLE_IN_TRANSACTION_TIMEOUT = '1s';

type Role = 'owner' | 'app' | 'readonly' | 'backup';

let tlsDir: string;
const scratch = mkdtempSync(join(tmpdir(), 'pdpl-postgres-test-'));
let server: StartedTestContainer;
/** The same image, told that only a range no test connects from is the platform's network. */
let elsewhere: StartedTestContainer;
const opened: pg.Client[] = [];

before(async () => {
  tlsDir = testCertificates();
  [server, elsewhere] = await Promise.all([
    startPostgres({
      tlsDir,
      env: {
        POSTGRES_APP_CONNECTION_LIMIT: String(APP_CONNECTION_LIMIT),
        POSTGRES_APP_STATEMENT_TIMEOUT: APP_STATEMENT_TIMEOUT,
        POSTGRES_APP_IDLE_IN_TRANSACTION_TIMEOUT: APP_IDLE_IN_TRANSACTION_TIMEOUT,
      },
    }),
    startPostgres({ tlsDir, clientNetworks: '198.51.100.0/24' }),
  ]);
  // What migrations do as the owner: a table, the API's rights on it (table by table), a history; and a schema of
  // the owner's that no migration opened to the API.
  const owner = await connect('owner');
  await owner.query('CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)');
  await owner.query('GRANT SELECT, INSERT ON people TO pdpl_app');
  await owner.query('CREATE TABLE pdpl_migrations.pgmigrations (id serial PRIMARY KEY, name text NOT NULL)');
  await owner.query("INSERT INTO pdpl_migrations.pgmigrations (name) VALUES ('create-people')");
  await owner.query('CREATE SCHEMA audit');
  await owner.query('CREATE TABLE audit.trail (entry text)');
  await owner.end();
});

after(async () => {
  await Promise.allSettled(opened.map((client) => client.end()));
  await Promise.allSettled([server?.stop(), elsewhere?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

interface ConnectOptions {
  readonly password?: string;
  readonly ssl?: pg.ClientConfig['ssl'];
  readonly container?: StartedTestContainer;
  readonly user?: string;
}

/** A connection as the platform's clients make it: verify-full against the platform's CA. */
async function connect(role: Role, options: ConnectOptions = {}): Promise<pg.Client> {
  const container = options.container ?? server;
  const client = new pg.Client({
    host: container.getHost(),
    port: container.getMappedPort(5432),
    database: 'pdpl',
    user: options.user ?? `pdpl_${role}`,
    password: options.password ?? POSTGRES_PASSWORDS[role],
    ssl: options.ssl ?? { ca: readFileSync(join(tlsDir, 'ca.crt'), 'utf8'), rejectUnauthorized: true },
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  opened.push(client);
  return client;
}

/**
 * Runs the statement as the role, after the session's own `before` statements if any, and returns the SQLSTATE it
 * failed with (or undefined when it worked).
 */
async function failureOf(role: Role, sql: string, before?: string): Promise<string | undefined> {
  const client = await connect(role);
  if (before) await client.query(before);
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  } finally {
    await client.end();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const scalar = async (client: pg.Client, sql: string) => Object.values((await client.query(sql)).rows[0])[0];
const INSUFFICIENT_PRIVILEGE = '42501';

describe('who may connect', () => {
  it('should accept the application role over TLS verified against the platform CA, with its password', async () => {
    const client = await connect('app');

    const { rows } = await client.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await client.end();
    assert.equal(rows[0].ssl, true);
    assert.match(rows[0].version, /^TLSv1\.[23]$/);
  });

  it('should refuse a connection without TLS', async () => {
    await assert.rejects(connect('app', { ssl: false }), /pg_hba\.conf rejects connection .* no encryption/);
  });

  it('should refuse a wrong password', async () => {
    await assert.rejects(connect('app', { password: 'not-the-password' }), /password authentication failed/);
  });

  it('should refuse the superuser over the network, even with its password', async () => {
    const superuser = { user: 'postgres', password: POSTGRES_PASSWORDS.superuser };
    await assert.rejects(connect('app', superuser), /pg_hba\.conf rejects connection .* user "postgres"/);
  });

  it('should be refused by a client that trusts another CA: the server proves who it is', async () => {
    const foreignCa = readFileSync(join(foreignCertificates(), 'ca.crt'), 'utf8');
    await assert.rejects(connect('app', { ssl: { ca: foreignCa, rejectUnauthorized: true } }), /self-signed|verify/);
  });

  it("should refuse the right role and password from outside the platform's network", async () => {
    await assert.rejects(connect('app', { container: elsewhere }), /no pg_hba\.conf entry for host/);
    const owner = await connect('owner', { container: elsewhere }).catch((error: Error) => error);
    assert.match(String(owner), /no pg_hba\.conf entry for host/);
  });

  it('should have no trust rule and no unencrypted way in (pg_hba.conf as the server read it)', async () => {
    const rules = await superuserRows(server, 'SELECT type, auth_method FROM pg_hba_file_rules ORDER BY rule_number');

    assert.deepEqual(rules, ['local peer', 'hostssl reject', 'hostnossl reject', 'hostssl scram-sha-256']);
  });

  it(`should hold the application role to ${APP_CONNECTION_LIMIT} connections`, async () => {
    const held = await Promise.all(Array.from({ length: APP_CONNECTION_LIMIT }, () => connect('app')));

    await assert.rejects(connect('app'), /too many connections for role "pdpl_app"/);
    await Promise.all(held.map((client) => client.end()));
  });

  it('should give every platform role its own connection limit and no way to more rights', async () => {
    const roles = await superuserRows(
      server,
      'SELECT rolname, rolconnlimit, rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls ' +
        "FROM pg_roles WHERE rolname LIKE 'pdpl\\_%' ORDER BY rolname",
    );

    assert.deepEqual(roles, [
      `pdpl_app ${APP_CONNECTION_LIMIT} f`,
      'pdpl_backup 3 f',
      'pdpl_owner 3 f',
      'pdpl_readonly 5 f',
    ]);
  });
});

describe('what the application role may do', () => {
  it('should read and add rows where a migration granted it', async () => {
    const client = await connect('app');

    await client.query("INSERT INTO people VALUES (1, 'An')");
    assert.equal(await scalar(client, 'SELECT name FROM people WHERE id = 1'), 'An');
    await client.end();
  });

  for (const [what, sql] of [
    ['create a table in its schema', 'CREATE TABLE pdpl.mine (id int)'],
    ['create a table in public', 'CREATE TABLE public.mine (id int)'],
    ['drop a table', 'DROP TABLE people'],
    ['alter a table', 'ALTER TABLE people ADD COLUMN extra text'],
    ['truncate a table', 'TRUNCATE people'],
    ['update rows no migration let it update', "UPDATE people SET name = 'X'"],
    ['delete rows no migration let it delete', 'DELETE FROM people'],
    ['make itself a member of the owner role', 'GRANT pdpl_owner TO pdpl_app'],
    ['create large objects outside any schema', 'SELECT lo_create(0)'],
    ['read another schema', 'SELECT * FROM audit.trail'],
    ['read the migration history', 'SELECT * FROM pdpl_migrations.pgmigrations'],
    ['create a role', 'CREATE ROLE intruder'],
  ] as const) {
    it(`should not ${what}`, async () => {
      assert.equal(await failureOf('app', sql), INSUFFICIENT_PRIVILEGE);
    });
  }

  it('should have its statements cut off at the statement timeout', async () => {
    const client = await connect('app');
    try {
      assert.equal(await scalar(client, 'SHOW statement_timeout'), APP_STATEMENT_TIMEOUT);
      await assert.rejects(client.query('SELECT pg_sleep(3)'), /canceling statement due to statement timeout/);
    } finally {
      await client.end();
    }
  });

  it('should have its session ended when left idle in a transaction past the timeout, its work undone', async () => {
    const client = await connect('app');
    const told: (string | undefined)[] = [];
    client.on('error', (error: Error & { code?: string }) => told.push(error.code));
    await client.query('BEGIN');
    await client.query("INSERT INTO people VALUES (20, 'Left open')");

    await pause(2_000);

    // The server's FATAL first, then the driver's own word for the closed connection.
    assert.equal(told[0], '25P03', 'the server said why it ended the session');
    await assert.rejects(client.query('SELECT 1'), /not queryable|Connection terminated/);
    const reader = await connect('app');
    assert.equal((await reader.query('SELECT 1 FROM people WHERE id = 20')).rowCount, 0);
    await reader.end();
  });

  it('should commit a transaction that keeps working, each pause within the timeout, however long it runs', async () => {
    const client = await connect('app');
    await client.query('BEGIN');
    for (const id of [21, 22, 23]) {
      await client.query('INSERT INTO people VALUES ($1, $2)', [id, `Busy ${id}`]);
      await pause(600);
    }
    await client.query('COMMIT');

    assert.equal(await scalar(client, 'SHOW idle_in_transaction_session_timeout'), APP_IDLE_IN_TRANSACTION_TIMEOUT);
    assert.equal(await scalar(client, 'SELECT count(*) FROM people WHERE id IN (21, 22, 23)'), '3');
    await client.end();
  });

  it('should default to 30 s statements and 60 s idle transactions when the image is given no timeouts', async () => {
    const settings = await superuserRows(
      elsewhere,
      "SELECT unnest(setconfig) AS setting FROM pg_db_role_setting WHERE setrole = 'pdpl_app'::regrole ORDER BY 1",
    );

    assert.deepEqual(settings, [
      'idle_in_transaction_session_timeout=60s',
      'search_path=pdpl',
      'statement_timeout=30s',
    ]);
  });
});

describe('the other roles', () => {
  // Both start their sessions read-only, but a session may turn that off: the refusals must come from the rights.
  const WRITABLE = 'SET default_transaction_read_only = off';

  it('should let the read-only role read its schema and write nothing, even with read-only sessions off', async () => {
    const client = await connect('readonly');

    assert.equal(typeof (await scalar(client, 'SELECT count(*) FROM people')), 'string');
    await client.end();
    assert.equal(
      await failureOf('readonly', "INSERT INTO people VALUES (2, 'Binh')", WRITABLE),
      INSUFFICIENT_PRIVILEGE,
    );
    assert.equal(await failureOf('readonly', 'CREATE TABLE pdpl.mine (id int)', WRITABLE), INSUFFICIENT_PRIVILEGE);
  });

  it("should let the backup role read the platform's schemas, and no password verifier, and write nothing", async () => {
    const client = await connect('backup');

    assert.equal(typeof (await scalar(client, 'SELECT count(*) FROM pdpl.people')), 'string');
    assert.equal(await scalar(client, 'SELECT name FROM pdpl_migrations.pgmigrations'), 'create-people');
    await client.end();
    assert.equal(await failureOf('backup', 'SELECT rolpassword FROM pg_authid'), INSUFFICIENT_PRIVILEGE);
    assert.equal(
      await failureOf('backup', "INSERT INTO pdpl.people VALUES (3, 'Chi')", WRITABLE),
      INSUFFICIENT_PRIVILEGE,
    );
  });

  it('should let only the owner change the schema, and only its own', async () => {
    assert.equal(await failureOf('owner', 'CREATE TABLE pdpl.owned (id int)'), undefined);
    assert.equal(await failureOf('owner', 'CREATE TABLE public.owned (id int)'), INSUFFICIENT_PRIVILEGE);
  });
});

describe('durability', () => {
  it('should run with the settings that keep committed data (fsync, full pages, WAL ready for archiving)', async () => {
    const client = await connect('app');
    const settings = Object.fromEntries(
      (
        await client.query(
          "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', 'synchronous_commit', " +
            "'wal_level', 'ssl', 'password_encryption')",
        )
      ).rows.map((row) => [row.name, row.setting]),
    );

    assert.deepEqual(settings, {
      fsync: 'on',
      full_page_writes: 'on',
      password_encryption: 'scram-sha-256',
      ssl: 'on',
      synchronous_commit: 'on',
      wal_level: 'replica',
    });
    await client.end();
  });

  it('should keep committed rows, roles and passwords across a container restart', async () => {
    const before = await connect('app');
    await before.query("INSERT INTO people VALUES (10, 'Dung')");
    await before.end();

    await server.restart();

    const after = await connect('app');
    assert.equal(await scalar(after, 'SELECT name FROM people WHERE id = 10'), 'Dung');
    await after.end();
  });

  it('should take back at the next start what was granted by hand since', async () => {
    const superuser = (sql: string) => superuserRows(server, sql);
    await superuser('GRANT pdpl_owner TO pdpl_app');
    await superuser('GRANT CREATE ON SCHEMA pdpl TO pdpl_app');
    await superuser('ALTER ROLE pdpl_app SET statement_timeout = 0');
    // As the role itself may: a setting for one database, which outranks the role-wide one.
    await superuser('ALTER ROLE pdpl_app IN DATABASE pdpl SET idle_in_transaction_session_timeout = 0');
    assert.equal(await failureOf('app', 'CREATE TABLE pdpl.drifted (id int)'), undefined, 'the drift took effect');
    const drifted = await connect('app');
    assert.equal(await scalar(drifted, 'SHOW idle_in_transaction_session_timeout'), '0', 'the drift took effect');
    await drifted.end();

    await server.restart();

    assert.equal(await failureOf('app', 'CREATE TABLE pdpl.drifted_again (id int)'), INSUFFICIENT_PRIVILEGE);
    assert.equal(await failureOf('app', 'SET ROLE pdpl_owner'), INSUFFICIENT_PRIVILEGE);
    const client = await connect('app');
    assert.equal(await scalar(client, 'SHOW statement_timeout'), APP_STATEMENT_TIMEOUT);
    assert.equal(await scalar(client, 'SHOW idle_in_transaction_session_timeout'), APP_IDLE_IN_TRANSACTION_TIMEOUT);
    await client.end();
  });

  it("should take a role's password from its file at every start, read as the API reads it", async () => {
    // Quotes, a backslash and CRLF, as an editor on another system may save it: the API drops the line ending.
    const rotated = `rotated'read"only\\pass:word$1`;
    const file = join(scratch, 'postgres_readonly');
    writeFileSync(file, `${rotated}\r\n`, { mode: 0o644 });
    await run('docker', ['cp', file, `${server.getId()}:/run/secrets/postgres_readonly`]);

    await server.restart();

    const client = await connect('readonly', { password: rotated });
    await client.end();
    await assert.rejects(connect('readonly'), /password authentication failed/);
  });

  // Started as root, as an operator may: the entrypoint copies the secrets for uid postgres and drops to it first.
  it('should refuse, saying why, a volume whose cluster predates the layout', async () => {
    const volume = join(scratch, 'old-volume');
    mkdirSync(volume);
    writeFileSync(join(volume, 'PG_VERSION'), '17\n');
    const secrets = Object.entries(POSTGRES_PASSWORDS).flatMap(([role, password]) => {
      writeFileSync(join(scratch, role), password, { mode: 0o644 });
      return [
        '-v',
        `${join(scratch, role)}:/run/secrets/${role}:ro`,
        '-e',
        `POSTGRES_${role.toUpperCase()}_PASSWORD_FILE=/run/secrets/${role}`,
      ];
    });
    const tls = ['crt', 'key'].flatMap((kind) => [
      '-v',
      `${join(tlsDir, `postgres.${kind}`)}:/run/secrets/postgres_tls_${kind === 'crt' ? 'certificate' : 'private_key'}:ro`,
    ]);

    const outcome = await run('docker', [
      'run',
      '--rm',
      '--user',
      'root',
      '-e',
      'POSTGRES_CLIENT_NETWORKS=10.0.0.0/8',
      ...secrets,
      ...tls,
      '-v',
      `${volume}:/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    ]).then(
      () => 'started',
      (error: { stderr?: string }) => String(error.stderr),
    );

    assert.match(
      outcome,
      /FAIL: the volume at \/var\/lib\/postgresql\/data holds a cluster of an earlier pdpl\/postgres/,
    );
  });
});
