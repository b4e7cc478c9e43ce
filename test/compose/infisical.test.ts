import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// compose/infisical.yml as Compose reads it, and the entrypoint it gives Infisical. Infisical itself cannot start
// on these machines: its image (infisical/infisical) comes from a registry, and none is reachable here
// (../shared/CONTAINERS.md). So this reads the overlay through `docker compose config`, and runs its entrypoint in
// one of the platform's own images (Debian's dash as /bin/sh, as in Infisical's image) with the secret files
// mounted where compose mounts them and `env` in place of Infisical: what Infisical would be handed. What the data
// services give Infisical is tested against them in services/api/test/integration/infisical-data-tier.test.ts.
// Secret values are compared, never shown: a failing assertion prints no value.

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')).version;
const OVERLAY = ['-f', 'docker-compose.yml', '-f', 'compose/infisical.yml'];
const ENTRYPOINT = join(REPOSITORY, 'compose/infisical/docker-entrypoint.sh');
// The unit suite runs this file before scripts/prepare.sh has built the images (npm test builds them first).
const SHELL_IMAGE = `pdpl/redis:${VERSION}`;
const imageMissing = spawnSync('docker', ['image', 'inspect', SHELL_IMAGE], { stdio: 'ignore' }).status !== 0;
// Infisical's secrets, each a Docker secret of the service, and the file each comes from (in the secrets folder).
const INFISICAL_SECRETS: Record<string, string> = {
  infisical_encryption_key: 'infisical_encryption_key',
  infisical_auth_secret: 'infisical_auth_secret',
  postgres_infisical_password: 'postgres_infisical_password',
  redis_infisical_password: 'redis_infisical_password',
  tls_ca: 'tls/ca.crt',
};

const scratch = mkdtempSync(join(tmpdir(), 'pdpl-infisical-compose-'));
const secretsDir = join(scratch, 'secrets');
const gid = process.getgid?.() ?? 0;
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Service {
  readonly image?: string;
  readonly profiles?: string[];
  readonly user?: string;
  readonly environment?: Record<string, string>;
  readonly secrets?: { source: string; target: string }[];
  readonly networks?: Record<string, unknown>;
  readonly ports?: unknown[];
  readonly entrypoint?: string[];
  readonly command?: string[];
  readonly restart?: string;
  readonly cap_drop?: string[];
  readonly cap_add?: string[];
  readonly security_opt?: string[];
  readonly group_add?: string[];
  readonly tmpfs?: string[];
  readonly logging?: { driver: string; options: Record<string, string> };
  readonly healthcheck?: { test: string[] };
  readonly deploy?: { resources: { limits: Record<string, unknown> } };
}

interface Project {
  readonly services: Record<string, Service>;
  readonly networks: Record<string, { internal?: boolean }>;
  readonly secrets: Record<string, { file: string }>;
}

async function composeConfig(args: string[]): Promise<Project> {
  const { stdout } = await run('docker', ['compose', ...args, 'config', '--format', 'json'], {
    cwd: REPOSITORY,
    env: { ...process.env, PDPL_SECRETS_DIR: secretsDir, PDPL_SECRETS_GID: String(gid) },
  });
  return JSON.parse(stdout);
}

let project: Project;
let infisical: Service;
const secretValue = (name: string) => readFileSync(join(secretsDir, INFISICAL_SECRETS[name] ?? name), 'utf8');

before(async () => {
  const env = { ...process.env, PDPL_SECRETS_DIR: secretsDir, PDPL_SECRETS_GID: String(gid) };
  const cli = join(REPOSITORY, 'config/src/cli/generate-secrets.ts');
  await run(process.execPath, ['--import', 'tsx', cli, '--dir', secretsDir], { env, cwd: REPOSITORY });
  await run('bash', [join(REPOSITORY, 'scripts/make-tls-certs.sh')], { env, cwd: REPOSITORY });
  // Made by Infisical's web UI in real life; any value will do here.
  writeFileSync(join(secretsDir, 'infisical_client_secret'), 'client-secret-for-tests-only', { mode: 0o640 });
  chownSync(join(secretsDir, 'infisical_client_secret'), -1, gid);
  project = await composeConfig([...OVERLAY, '--profile', 'secrets']);
  infisical = project.services.infisical as Service;
});

describe('compose/infisical.yml', () => {
  it('should pin an exact Infisical release, and run it only in the secrets profile', async () => {
    const without = await composeConfig(OVERLAY);

    assert.match(String(infisical.image), /^infisical\/infisical:v\d+\.\d+\.\d+$/);
    assert.deepEqual(infisical.profiles, ['secrets']);
    assert.equal(without.services.infisical, undefined);
  });

  it('should give Infisical each of its secrets as a Docker secret from the secrets folder', () => {
    const mounted = (infisical.secrets ?? []).map(({ source, target }) => [source, target]);

    assert.deepEqual(
      mounted.sort(),
      Object.keys(INFISICAL_SECRETS)
        .sort()
        .map((name) => [name, `/run/secrets/${name}`]),
    );
    for (const [name, file] of Object.entries(INFISICAL_SECRETS)) {
      assert.equal(project.secrets[name]?.file, join(secretsDir, file), name);
    }
  });

  it('should put no secret in any environment value, and no password in its URLs', () => {
    const secretFiles = readdirSync(secretsDir).filter((name) => statSync(join(secretsDir, name)).isFile());
    const values = secretFiles.map((name) => readFileSync(join(secretsDir, name), 'utf8').trim());
    const environment = Object.entries(infisical.environment ?? {});

    for (const [service, { environment: variables = {} }] of Object.entries(project.services)) {
      for (const [key, value] of Object.entries(variables)) {
        assert.ok(!values.some((secret) => String(value).includes(secret)), `${service}: ${key} holds a secret`);
      }
    }
    for (const key of ['ENCRYPTION_KEY', 'AUTH_SECRET', 'DB_PASSWORD', 'REDIS_PASSWORD', 'DB_ROOT_CERT']) {
      assert.ok(!environment.some(([name]) => name === key), `${key} is set in the environment`);
    }
    for (const key of ['DB_CONNECTION_URI', 'REDIS_URL']) {
      assert.equal(new URL(String(infisical.environment?.[key])).password, '', `${key} carries a password`);
    }
  });

  it('should reach PostgreSQL and Redis over TLS by their service names, on their internal network only', () => {
    const database = new URL(String(infisical.environment?.DB_CONNECTION_URI));
    const redis = new URL(String(infisical.environment?.REDIS_URL));
    const networks = Object.keys(infisical.networks ?? {});
    const shared = (service: string) => Object.keys(project.services[service]?.networks ?? {});

    assert.deepEqual(
      [database.protocol, database.username, database.hostname, database.port, database.pathname],
      ['postgresql:', 'infisical', 'postgres', '5432', '/infisical'],
    );
    assert.deepEqual(
      [redis.protocol, redis.username, redis.hostname, redis.port],
      ['rediss:', 'pdpl_infisical', 'redis', '6379'],
    );
    // TLS checked against the platform's CA: Redis's through Node's extra CAs, PostgreSQL's through DB_ROOT_CERT,
    // which the entrypoint makes from the same file (tested below).
    assert.equal(infisical.environment?.NODE_EXTRA_CA_CERTS, '/run/secrets/tls_ca');
    assert.ok(networks.length > 0, 'infisical is on no network');
    for (const network of networks) {
      assert.ok(shared('postgres').includes(network) && shared('redis').includes(network), network);
      assert.equal(project.networks[network]?.internal, true, `${network} is not internal`);
    }
    assert.equal(infisical.ports, undefined);
  });

  it("should give the data services Infisical's passwords, which docker-compose.yml alone does not", async () => {
    const base = await composeConfig(['-f', 'docker-compose.yml']);
    const wiring = { postgres: 'POSTGRES_INFISICAL', redis: 'REDIS_INFISICAL' } as const;

    for (const [service, prefix] of Object.entries(wiring)) {
      const secret = `${service}_infisical_password`;
      const overlaid = project.services[service] as Service;
      assert.equal(overlaid.environment?.[`${prefix}_PASSWORD_FILE`], `/run/secrets/${secret}`, service);
      assert.ok(
        overlaid.secrets?.some(({ source }) => source === secret),
        `${service} lacks the secret ${secret}`,
      );
      assert.equal(base.services[service]?.environment?.[`${prefix}_PASSWORD_FILE`], undefined, service);
    }
  });

  it('should have the API read its four secrets from Infisical, not from the files the core file gives it', async () => {
    const base = await composeConfig(['-f', 'docker-compose.yml']);
    const api = project.services.api as Service & { depends_on?: Record<string, { condition: string }> };
    const fromInfisical = ['DATABASE_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET', 'JWT_PREVIOUS_SECRET'];

    for (const name of fromInfisical) {
      assert.ok(base.services.api?.environment?.[`${name}_FILE`], `the core file gives ${name} as a file`);
      assert.equal(api.environment?.[`${name}_FILE`], undefined, `${name} still comes from a file`);
    }
    assert.equal(api.environment?.SECRETS_PROVIDER, 'infisical');
    assert.equal(api.environment?.INFISICAL_SITE_URL, 'http://infisical:8080');
    assert.equal(api.environment?.INFISICAL_CLIENT_SECRET_FILE, '/run/secrets/infisical_client_secret');
    assert.deepEqual(api.secrets?.map(({ source }) => source).sort(), ['infisical_client_secret', 'tls_ca']);
    assert.equal(api.depends_on?.infisical?.condition, 'service_healthy');
  });
  it("should hold Infisical to the platform's service rules, a writable root aside", () => {
    const limits = infisical.deploy?.resources.limits ?? {};
    const [uid] = String(infisical.user).split(':');

    assert.equal(infisical.restart, 'unless-stopped');
    assert.deepEqual([infisical.cap_drop, infisical.cap_add], [['ALL'], undefined]);
    assert.deepEqual(infisical.security_opt, ['no-new-privileges:true']);
    assert.ok(uid !== '0' && uid !== 'root' && uid !== '', `user ${infisical.user}`);
    assert.deepEqual(infisical.group_add, [String(gid)]);
    assert.ok(limits.memory && limits.cpus && limits.pids, `limits: ${JSON.stringify(limits)}`);
    assert.equal(infisical.logging?.driver, 'json-file');
    assert.ok(infisical.logging?.options['max-size'] && infisical.logging?.options['max-file']);
    assert.deepEqual(infisical.tmpfs, ['/tmp']);
    assert.match(infisical.healthcheck?.test.join(' ') ?? '', /http:\/\/127\.0\.0\.1:8080\/api\/status/);
  });
});

interface Started {
  readonly code: number;
  readonly env: Map<string, string>;
  readonly stderr: string;
}

/**
 * The service's entrypoint and environment in the platform's Redis image, as the service's user and groups, with
 * `env` as the command. `mounts` names a secret's file to mount instead of the generated one, or null for none.
 */
async function startEntrypoint(mounts: Record<string, string | null> = {}): Promise<Started> {
  const generated = Object.entries(INFISICAL_SECRETS).map(([name, file]) => [name, join(secretsDir, file)]);
  const files = { ...Object.fromEntries(generated), ...mounts };
  const args = ['run', '--rm', '--user', String(infisical.user), '--group-add', String(gid), '--read-only'];
  for (const [name, file] of Object.entries(files)) {
    if (file !== null) args.push('--mount', `type=bind,source=${file},target=/run/secrets/${name},readonly`);
  }
  for (const [key, value] of Object.entries(infisical.environment ?? {})) args.push('-e', `${key}=${value}`);
  args.push('-v', `${ENTRYPOINT}:/pdpl/docker-entrypoint.sh:ro`, '--entrypoint', String(infisical.entrypoint?.[0]));
  args.push(SHELL_IMAGE, ...(infisical.entrypoint ?? []).slice(1), 'env');
  const outcome = await run('docker', args).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: Number(error.code ?? 1),
      stdout: String(error.stdout ?? ''),
      stderr: String(error.stderr ?? ''),
    }),
  );
  const env = new Map(
    outcome.stdout
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { code: outcome.code, env, stderr: outcome.stderr };
}

const skip = imageMissing && `${SHELL_IMAGE} is not built: bash scripts/prepare.sh (npm test runs it) builds it`;

describe('compose/infisical/docker-entrypoint.sh', { skip }, () => {
  it('should hand Infisical its secrets from the files, and the passwords inside its URLs', async () => {
    const started = await startEntrypoint();
    const database = new URL(String(started.env.get('DB_CONNECTION_URI')));
    const redis = new URL(String(started.env.get('REDIS_URL')));

    assert.equal(started.code, 0, started.stderr);
    assert.ok(started.env.get('ENCRYPTION_KEY') === secretValue('infisical_encryption_key'), 'ENCRYPTION_KEY');
    assert.ok(started.env.get('AUTH_SECRET') === secretValue('infisical_auth_secret'), 'AUTH_SECRET');
    assert.ok(database.password === secretValue('postgres_infisical_password'), "DB_CONNECTION_URI's password");
    assert.ok(redis.password === secretValue('redis_infisical_password'), "REDIS_URL's password");
    assert.deepEqual(
      [database.host, database.username, redis.protocol, redis.host],
      ['postgres:5432', 'infisical', 'rediss:', 'redis:6379'],
    );
    assert.equal(Buffer.from(String(started.env.get('DB_ROOT_CERT')), 'base64').toString(), secretValue('tls_ca'));
    assert.equal(started.stderr, '');
  });

  it('should refuse to start, naming the file and printing no value, when a secret is missing', async () => {
    const started = await startEntrypoint({ infisical_auth_secret: null });

    assert.notEqual(started.code, 0);
    assert.match(
      started.stderr,
      /FAIL: \/run\/secrets\/infisical_auth_secret is missing; give the service the Docker secret/,
    );
    assert.equal(started.env.size, 0, 'Infisical was started');
    assert.ok(!started.stderr.includes(secretValue('infisical_encryption_key')), 'a value is printed');
  });

  it('should refuse an encryption key in another format, and a password a URL would have to escape', async () => {
    const key = join(scratch, 'key-base64');
    const password = join(scratch, 'password-with-at');
    writeFileSync(key, `${Buffer.from(secretValue('infisical_encryption_key')).toString('base64')}\n`, { mode: 0o644 });
    writeFileSync(password, 'pass@word/with:separators-0123456789', { mode: 0o644 });

    const badKey = await startEntrypoint({ infisical_encryption_key: key });
    const badPassword = await startEntrypoint({ redis_infisical_password: password });

    assert.match(badKey.stderr, /FAIL: \/run\/secrets\/infisical_encryption_key is not (hexadecimal|32 hex digits)/);
    assert.match(
      badPassword.stderr,
      /FAIL: \/run\/secrets\/redis_infisical_password holds characters a URL must escape/,
    );
    assert.ok(!badPassword.stderr.includes('pass@word'), 'the password is printed');
    assert.deepEqual([badKey.env.size, badPassword.env.size], [0, 0]);
  });
});
