import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig } from '../src/index.ts';
import { problemsOf, scratchFolder } from './support.ts';

const scratch = scratchFolder('production');
const dir = scratch.path;
const file = scratch.file;
// Only its form is checked at boot: a PEM certificate block.
const CA_FILE = file('ca.crt', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

const productionEnv = (): Record<string, string> => ({
  ENVIRONMENT: 'production',
  LOG_LEVEL: 'warn',
  DATABASE_HOST: 'postgres',
  DATABASE_PASSWORD_FILE: file('db', 'Zq3-dKb8-Wm2v-Lp9x-Tc4n-Hf7q-Rs1y'),
  DATABASE_SSL_MODE: 'verify-full',
  DATABASE_CA_FILE: CA_FILE,
  REDIS_HOST: 'redis',
  REDIS_PASSWORD_FILE: file('redis', 'Yb6-Nq2w-Jk8e-Pz3r-Vx5t-Gm9u-Ld4h'),
  REDIS_TLS: 'true',
  REDIS_CA_FILE: CA_FILE,
  JWT_SECRET_FILE: file('jwt', 'e2Jx6mQd9vT1sYw4kP7nR0aL3cF8hB5uZ2oG6iE9'),
});

function productionProblems(overrides: Record<string, string | undefined>): string[] {
  const env = { ...productionEnv(), ...overrides };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return problemsOf({ env });
}

describe('production rules', () => {
  it('should accept a production configuration with secrets from files', () => {
    assert.deepEqual(productionProblems({}), []);
  });

  it('should refuse localhost for the database and Redis', () => {
    const problems = productionProblems({ DATABASE_HOST: 'localhost', REDIS_HOST: '127.0.0.1' });

    assert.deepEqual(problems, [
      'database.host: is "localhost", a loopback address',
      'redis.host: is "127.0.0.1", a loopback address',
    ]);
  });

  it('should refuse database connections that are not verified TLS, and Redis without TLS', () => {
    assert.deepEqual(productionProblems({ DATABASE_SSL_MODE: 'disable', REDIS_TLS: 'false' }), [
      'database.sslMode: is disable, which sends queries and passwords in clear',
      'redis.tls: is off, so tokens and passwords cross the network in clear',
    ]);
    assert.deepEqual(productionProblems({ DATABASE_SSL_MODE: 'require' }), [
      'database.sslMode: is require, which encrypts but trusts any server',
    ]);
  });

  it('should refuse a CA file that is missing or holds no certificate, in any environment', () => {
    const key = file('not-a-ca.pem', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
    for (const environment of ['production', 'development']) {
      const problems = productionProblems({
        ENVIRONMENT: environment,
        DATABASE_CA_FILE: join(dir, 'absent.crt'),
        REDIS_CA_FILE: key,
      });

      assert.deepEqual(problems, [
        `database.caFile: names ${join(dir, 'absent.crt')}, which does not exist`,
        `redis.caFile: names ${key}, which holds no PEM certificate`,
      ]);
    }
  });

  it('should refuse a missing Redis password', () => {
    assert.deepEqual(productionProblems({ REDIS_PASSWORD_FILE: undefined }), [
      'redis.password: is required in production',
    ]);
  });

  it('should refuse the development JWT secret and a short one', () => {
    assert.deepEqual(productionProblems({ JWT_SECRET_FILE: file('dev', DEVELOPMENT_JWT_SECRET) }), [
      'jwt.secret: is the development default',
    ]);
    assert.deepEqual(productionProblems({ JWT_SECRET_FILE: file('short', 'too-short') }), [
      'jwt.secret: is shorter than 32 characters',
    ]);
  });

  for (const level of ['info', 'debug', 'trace']) {
    it(`should refuse log level ${level}`, () => {
      assert.deepEqual(productionProblems({ LOG_LEVEL: level }), [
        `log.level: is "${level}", which logs too much for production`,
      ]);
    });
  }

  it('should refuse reload', () => {
    assert.deepEqual(productionProblems({ RELOAD: 'true' }), ['server.reload: is on']);
  });

  it('should refuse a secret given as a plain environment variable', () => {
    const problems = productionProblems({
      JWT_SECRET_FILE: undefined,
      JWT_SECRET: 'e2Jx6mQd9vT1sYw4kP7nR0aL3cF8hB5uZ2oG6iE9',
    });

    assert.deepEqual(problems, ['jwt.secret: is a secret given in a plain environment variable']);
  });

  it('should refuse placeholder, short, predictable and shared secrets', () => {
    const problems = productionProblems({
      DATABASE_PASSWORD_FILE: file('placeholder', 'changeme-changeme-changeme'),
      REDIS_PASSWORD_FILE: file('repeated', 'abababababababababababababababab'),
      JWT_SECRET_FILE: file('short', 'Zq3-short-jwt-k3y-8n2v5x'),
    });

    assert.deepEqual(problems, [
      'database.password: looks like a placeholder or a word',
      'redis.password: is too predictable (under 100 bits of entropy)',
      'jwt.secret: is shorter than 32 characters',
    ]);
  });

  it('should refuse secrets made of runs of consecutive characters or keyboard keys', () => {
    const problems = productionProblems({
      JWT_SECRET_FILE: file('alphabet', 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'),
      REDIS_PASSWORD_FILE: file('keyboard', 'Qm7!qwertyuiop-Zx8#Vb2$Nc5%'),
    });

    assert.deepEqual(problems, [
      'redis.password: contains a run of consecutive characters or keyboard keys',
      'jwt.secret: contains a run of consecutive characters or keyboard keys',
    ]);
  });

  it('should refuse a plain secret in the environment even when the secret manager supplies it', () => {
    const env = { ...productionEnv(), JWT_SECRET: 'uQ8-vX2k9Lp0aZ7wRt5yBn3mCd6fGh1jKs4e' };
    delete (env as Record<string, string | undefined>).JWT_SECRET_FILE;

    const problems = problemsOf({
      env,
      secretManagerValues: new Map([['JWT_SECRET', 'Hq5-Vc8x-Rn2m-Kw7p-Zt4b-Ly9d-Gf3s-Jn6a']]),
    });

    assert.deepEqual(problems, ['jwt.secret: is a secret given in a plain environment variable']);
  });

  it('should refuse a debugger port and debug output', () => {
    const problems = productionProblems({
      NODE_OPTIONS: '--max-old-space-size=512 --inspect=0.0.0.0:9229',
      DEBUG: '*',
    });

    assert.deepEqual(problems, ['(runtime): opens a debugger', '(runtime): turns on debug output']);
  });

  it('should refuse CORS origins on this machine and proxies trusted from everywhere', () => {
    const problems = productionProblems({
      CORS_ALLOWED_ORIGINS: 'https://app.example.vn,http://localhost:5173',
      TRUSTED_PROXIES: '172.18.0.0/16,0.0.0.0/0',
    });

    assert.deepEqual(problems, [
      'cors.allowedOrigins: contains origins on this machine: http://localhost:5173',
      'server.trustedProxies: trusts every address (0.0.0.0/0)',
    ]);
  });

  it('should refuse Infisical over plain HTTP across a network, and allow it to a service name', () => {
    const infisical = {
      SECRETS_PROVIDER: 'infisical',
      INFISICAL_CLIENT_ID: 'id',
      INFISICAL_CLIENT_SECRET_FILE: file('client', 'f3c9a1d7e5b2-84c6-4e1a-9d7b-2c5e8f0a3b6d'),
      INFISICAL_PROJECT_ID: 'project',
    };

    const remote = productionProblems({ ...infisical, INFISICAL_SITE_URL: 'http://infisical.example.vn' });
    const internal = productionProblems({ ...infisical, INFISICAL_SITE_URL: 'http://infisical:8080' });

    assert.deepEqual(remote, ['secrets.infisical.siteUrl: would send secrets in clear across a network']);
    assert.deepEqual(internal, []);
  });

  it('should refuse one secret used for two purposes, naming both and neither value', () => {
    const shared = file('same', 'uQ8-vX2k9Lp0aZ7wRt5yBn3mCd6fGh1jKs4e');

    const problems = productionProblems({ DATABASE_PASSWORD_FILE: shared, REDIS_PASSWORD_FILE: shared });

    assert.deepEqual(problems, ['redis.password: has the same value as database.password']);
  });

  it('should refuse a wildcard CORS origin, insecure cookies and pretty logs', () => {
    const problems = productionProblems({
      CORS_ALLOWED_ORIGINS: '*',
      COOKIE_SECURE: 'false',
      COOKIE_SAME_SITE: 'none',
      LOG_PRETTY: 'true',
    });

    assert.deepEqual(problems, [
      'log.pretty: is on, a development aid',
      'cookies.secure: is off, so cookies would travel over plain HTTP',
      'cookies.sameSite: is none, which sends cookies on cross-site requests',
      'cors.allowedOrigins: contains the wildcard *',
    ]);
  });

  it('should report source problems and rule problems together', () => {
    const secret = 'e2Jx6mQd9vT1sYw4kP7nR0aL3cF8hB5uZ2oG6iE9';
    const problems = productionProblems({
      JWT_SECRET_FILE: undefined,
      JWT_SECRET: secret,
      LOG_LEVEL: 'debug',
      RELOAD: '1',
    });

    assert.deepEqual(problems, [
      'jwt.secret: is a secret given in a plain environment variable',
      'log.level: is "debug", which logs too much for production',
      'server.reload: is on',
    ]);
  });

  it('should not judge a secret whose file is missing by the default that stood in for it', () => {
    const problems = productionProblems({ JWT_SECRET_FILE: join(dir, 'missing') });

    assert.equal(problems.length, 1);
    assert.equal(problems[0], 'jwt.secret: the file named by JWT_SECRET_FILE does not exist');
  });

  it('should not be fooled into accepting a plain secret by ENVIRONMENT coming from a file', () => {
    const problems = productionProblems({ ENVIRONMENT: undefined, ENVIRONMENT_FILE: file('env', 'production') });

    assert.deepEqual(problems, ['environment: is not a secret, but ENVIRONMENT_FILE is set']);
  });

  it('should never put a secret value in the error', () => {
    const secret = 'a-secret-that-must-stay-hidden-0123456789';
    try {
      loadConfig({
        env: {
          ...productionEnv(),
          REDIS_PASSWORD_FILE: undefined as never,
          REDIS_PASSWORD: secret,
          LOG_LEVEL: 'debug',
        },
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.ok(!`${error.message}${JSON.stringify(error)}${String(error)}`.includes(secret));
    }
  });
});
