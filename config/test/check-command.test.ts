import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FAULT_TEXT } from './fixtures/without-infisical-sdk.ts';
import { scratchFolder } from './support.ts';

// `npm run config:check` in host mode (scripts/config-check.sh runs config/src/cli/check.ts, built): the verdict
// on the environment it is given, and its exit code: 0 valid, 1 invalid, 2 the check itself failed, 64 usage.

const CHECK = fileURLToPath(new URL('../src/cli/check.ts', import.meta.url));
const WITHOUT_SDK = fileURLToPath(new URL('./fixtures/without-infisical-sdk.ts', import.meta.url));
const scratch = scratchFolder('check');
// Run from an empty folder, so no developer's .env reaches the command; tsx is then found by its full path.
const emptyFolder = join(scratch.path, 'empty');
mkdirSync(emptyFolder, { recursive: true });

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function check(
  env: Record<string, string>,
  args: string[] = [],
  options: { cwd?: string; preload?: string } = {},
) {
  const preload = options.preload ? ['--import', options.preload] : [];
  const argv = ['--import', import.meta.resolve('tsx'), ...preload, CHECK, ...args];
  const child = spawn(process.execPath, argv, {
    env: { PATH: process.env.PATH, ...env },
    cwd: options.cwd ?? emptyFolder,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr } satisfies Outcome;
}

function assertNoneOf(values: readonly string[], { stdout, stderr }: Outcome): void {
  for (const value of values) {
    assert.ok(!stdout.includes(value) && !stderr.includes(value), `the output contains ${value.slice(0, 8)}...`);
  }
}

const CA_FILE = scratch.file('ca.crt', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const SECRETS = {
  database: 'Zq3-dKb8-Wm2v-Lp9x-Tc4n-Hf7q-Rs1y',
  redis: 'Yb6-Nq2w-Jk8e-Pz3r-Vx5t-Gm9u-Ld4h',
  jwt: 'e2Jx6mQd9vT1sYw4kP7nR0aL3cF8hB5uZ2oG6iE9',
};
const PRODUCTION = {
  ENVIRONMENT: 'production',
  DATABASE_HOST: 'postgres',
  DATABASE_PASSWORD_FILE: scratch.file('db', `${SECRETS.database}\n`),
  DATABASE_SSL_MODE: 'verify-full',
  DATABASE_CA_FILE: CA_FILE,
  REDIS_HOST: 'redis',
  REDIS_PASSWORD_FILE: scratch.file('redis', SECRETS.redis),
  REDIS_TLS: 'true',
  REDIS_CA_FILE: CA_FILE,
  JWT_SECRET_FILE: scratch.file('jwt', SECRETS.jwt),
};

// Several problems at once, two of them secrets in plain variables whose values must not be printed.
const PLAIN_JWT = 'plain-jwt-secret-Qm7vX2kLp9rT4wZs8nBd';
const PLAIN_REDIS = 'plain-redis-password-Hy5cJ3fW';
const INVALID = {
  ENVIRONMENT: 'production',
  LOG_LEVEL: 'debug',
  DATABASE_HOST: 'localhost',
  DATABASE_PASSWORD_FILE: PRODUCTION.DATABASE_PASSWORD_FILE,
  DATABASE_SSL_MODE: 'require',
  REDIS_HOST: 'redis',
  REDIS_PASSWORD: PLAIN_REDIS,
  REDIS_TLS: 'true',
  JWT_SECRET: PLAIN_JWT,
  CORS_ALLOWED_ORIGINS: '*',
};
const INVALID_PROBLEMS = [
  ['redis.password', 'REDIS_PASSWORD', 'is a secret given in a plain environment variable'],
  ['jwt.secret', 'JWT_SECRET', 'is a secret given in a plain environment variable'],
  ['database.sslMode', 'DATABASE_SSL_MODE', 'is require, which encrypts but trusts any server'],
  ['database.host', 'DATABASE_HOST', 'is "localhost", a loopback address'],
  ['log.level', 'LOG_LEVEL', 'is "debug", which logs too much for production'],
  ['cors.allowedOrigins', 'CORS_ALLOWED_ORIGINS', 'contains the wildcard *'],
];

describe('config:check', () => {
  it('should exit 0 and say so for a valid test environment', async () => {
    const outcome = await check({ ENVIRONMENT: 'test' });

    assert.equal(outcome.code, 0, outcome.stderr);
    assert.equal(outcome.stdout, 'config:check: valid (test)\n');
    assert.equal(outcome.stderr, '');
  });

  it('should print one JSON report for a valid production environment with --json, and no secret', async () => {
    const outcome = await check(PRODUCTION, ['--json']);

    assert.equal(outcome.code, 0, outcome.stderr);
    assert.deepEqual(JSON.parse(outcome.stdout), { valid: true, environment: 'production', problems: [] });
    assert.equal(outcome.stdout.trim().split('\n').length, 1, 'one line of JSON');
    assertNoneOf(Object.values(SECRETS), outcome);
  });

  it('should exit 1 and name every problem by key and variable in the JSON report', async () => {
    const outcome = await check(INVALID, ['--json']);

    assert.equal(outcome.code, 1, outcome.stderr);
    const report = JSON.parse(outcome.stdout) as { valid: boolean; problems: Record<string, string>[] };
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.problems.map(({ key, env, message }) => [key, env, message]),
      INVALID_PROBLEMS,
    );
    for (const problem of report.problems) assert.ok(problem.fix, `${problem.key} has no fix`);
    assertNoneOf([PLAIN_JWT, PLAIN_REDIS, SECRETS.database], outcome);
  });

  it('should exit 1 and print the same problems as the one report without --json', async () => {
    const [text, json] = await Promise.all([check(INVALID), check(INVALID, ['--json'])]);

    assert.equal(text.code, 1, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `config:check: Invalid configuration, ${INVALID_PROBLEMS.length} problems:`);
    const problems = (JSON.parse(json.stdout) as { problems: Record<string, string>[] }).problems;
    assert.deepEqual(
      lines.slice(1),
      problems.map(({ key, env, message, fix }) => `- ${key} (${env}): ${message}. Fix: ${fix}.`),
    );
    assertNoneOf([PLAIN_JWT, PLAIN_REDIS, SECRETS.database], text);
  });

  it('should exit 1 naming a .env file it cannot read', async () => {
    const folder = join(scratch.path, 'unreadable-dotenv');
    mkdirSync(join(folder, '.env'), { recursive: true });

    const outcome = await check({}, [], { cwd: folder });

    assert.equal(outcome.code, 1, outcome.stderr);
    assert.match(
      outcome.stdout,
      /^- \(\.env file\) \(\.env\): .*unreadable-dotenv\/\.env cannot be read \(EISDIR\)\./m,
    );
  });

  it('should exit 1 for a password in the Infisical URL, without printing it', async () => {
    const password = 'url-password-3c2b1a';
    const env = {
      SECRETS_PROVIDER: 'infisical',
      INFISICAL_SITE_URL: `http://ops:${password}@127.0.0.1:9`,
      INFISICAL_CLIENT_ID: 'api-identity',
      INFISICAL_CLIENT_SECRET: 'client-secret-value-8d7c6b',
      INFISICAL_PROJECT_ID: 'project-1',
    };

    const outcome = await check(env, ['--json']);

    assert.equal(outcome.code, 1, outcome.stderr);
    const { problems } = JSON.parse(outcome.stdout) as { problems: Record<string, string>[] };
    assert.deepEqual(
      problems.map(({ env, message }) => `${env}: ${message}`),
      ['INFISICAL_SITE_URL: holds a user name or password'],
    );
    assertNoneOf([password, env.INFISICAL_CLIENT_SECRET], outcome);
  });

  it('should exit 2 with one line, and no report, when the check itself fails', async () => {
    const env = {
      SECRETS_PROVIDER: 'infisical',
      INFISICAL_SITE_URL: 'http://127.0.0.1:9',
      INFISICAL_CLIENT_ID: 'api-identity',
      INFISICAL_CLIENT_SECRET: 'client-secret-value-8d7c6b',
      INFISICAL_PROJECT_ID: 'project-1',
    };

    const outcome = await check(env, ['--json'], { preload: WITHOUT_SDK });

    assert.equal(outcome.code, 2, outcome.stderr);
    assert.equal(outcome.stdout, '');
    assert.match(
      outcome.stderr,
      /^config:check: FAIL: loading the settings failed with Error \[ERR_MODULE_NOT_FOUND\], which is no configuration problem .*\n$/,
    );
    assertNoneOf([FAULT_TEXT, env.INFISICAL_CLIENT_SECRET], outcome);
  });

  it('should exit 64 with the usage for an argument it does not know', async () => {
    const outcome = await check({ ENVIRONMENT: 'test' }, ['--jsn']);

    assert.equal(outcome.code, 64);
    assert.match(outcome.stderr, /^config:check: Unknown option '--jsn'.*\nusage: npm run config:check/);
  });
});
