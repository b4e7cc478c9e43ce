import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { LoadedSettings } from '../src/index.ts';
import { ConfigError, InfisicalError, loadSettings } from '../src/index.ts';
import { FakeInfisical } from './fixtures/fake-infisical.ts';

const dir = mkdtempSync(join(tmpdir(), 'pdpl-load-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT_SECRET = 'f3c9a1d7e5b2-84c6-4e1a-9d7b-2c5e8f0a3b6d';
const SECRETS = {
  DATABASE_PASSWORD: 'Vq7-pL2x+9Rk/Wm4=Tz8$Hn1@Bc6:Jd',
  REDIS_PASSWORD: 'Ys3-Fh8k+2Lp/Qw6=Xe9$Mr4@Ga7:Nt',
  JWT_SECRET: 'K8s-Dj2v+5Wq/Rn9=Lx3$Hp7@Tf1:Bz6-Mc4-Gy0-Ek',
  JWT_PREVIOUS_SECRET: 'Pw5-Zc8n+3Ty/Uj7=Va2$Kd9@Rs4:Hf1-Lm6-Qx0-Gb',
};
const IDENTITY = {
  clientId: 'machine-identity-id',
  clientSecret: CLIENT_SECRET,
  projectId: 'pdpl',
  environment: 'prod',
};

const fakes: FakeInfisical[] = [];
const loaded: LoadedSettings[] = [];
afterEach(async () => {
  for (const result of loaded.splice(0)) result.secretManager?.stop();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function productionEnvWithInfisical(secrets: Record<string, string> = SECRETS) {
  const fake = await FakeInfisical.start({ ...IDENTITY, secretPath: '/', secrets });
  fakes.push(fake);
  const clientSecretFile = join(dir, `client-secret-${fakes.length}`);
  writeFileSync(clientSecretFile, CLIENT_SECRET, { mode: 0o600 });
  return {
    ENVIRONMENT: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_HOST: 'postgres',
    DATABASE_SSL_MODE: 'verify-full',
    REDIS_HOST: 'redis',
    REDIS_TLS: 'true',
    ...fake.environmentFor(clientSecretFile),
  };
}

describe('loadSettings', () => {
  it('should boot production with every secret from Infisical', async () => {
    const env = await productionEnvWithInfisical();

    const result = await loadSettings({ env });
    loaded.push(result);

    assert.equal(result.settings.database.password, SECRETS.DATABASE_PASSWORD);
    assert.equal(result.settings.redis.password, SECRETS.REDIS_PASSWORD);
    assert.equal(result.settings.jwt.secret, SECRETS.JWT_SECRET);
    assert.deepEqual([...result.managedSecrets].sort(), [
      'DATABASE_PASSWORD',
      'JWT_PREVIOUS_SECRET',
      'JWT_SECRET',
      'REDIS_PASSWORD',
    ]);
  });

  it('should stop the boot naming a secret Infisical does not have, and no value', async () => {
    const env = await productionEnvWithInfisical({ DATABASE_PASSWORD: SECRETS.DATABASE_PASSWORD });

    const error = await loadSettings({ env }).then(
      () => assert.fail('expected a rejection'),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof InfisicalError);
    assert.match(error.message, /JWT_SECRET/);
    assert.match(error.message, /REDIS_PASSWORD/);
    const printed = `${error.message}${JSON.stringify(error)}${inspect(error, { depth: 5 })}`;
    for (const value of [CLIENT_SECRET, SECRETS.DATABASE_PASSWORD]) assert.ok(!printed.includes(value));
  });

  it('should report every missing Infisical coordinate as configuration, without connecting', async () => {
    const error = await loadSettings({ env: { SECRETS_PROVIDER: 'infisical' } }).then(
      () => assert.fail('expected a rejection'),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((problem) => problem.env),
      ['INFISICAL_SITE_URL', 'INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_PROJECT_ID'],
    );
  });

  // The documented precedence (README.md, "Configuration"): a secret given as a _FILE is the operator's choice for
  // that secret, the file PostgreSQL and Redis read too, so the secret manager is never asked for it.
  it('should take a secret given as a _FILE from the file, even where Infisical holds another value', async () => {
    const env = await productionEnvWithInfisical();
    const pinned = 'Hq4-Wn7c+1Zs/Pk3=Ry8$Dm2@Lv5:Tb';
    const pinnedFile = join(dir, 'pinned-database-password');
    writeFileSync(pinnedFile, `${pinned}\n`, { mode: 0o600 });

    const result = await loadSettings({ env: { ...env, DATABASE_PASSWORD_FILE: pinnedFile } });
    loaded.push(result);

    assert.equal(result.settings.database.password, pinned);
    assert.ok(!result.managedSecrets.includes('DATABASE_PASSWORD'), 'never refreshed from Infisical either');
    assert.equal(result.settings.redis.password, SECRETS.REDIS_PASSWORD, 'the others still come from Infisical');
  });

  it('should boot when Infisical lacks a secret that is given as a _FILE: it is never asked for', async () => {
    const { REDIS_PASSWORD: _given, ...others } = SECRETS;
    const env = await productionEnvWithInfisical(others);
    const redisFile = join(dir, 'redis-password-only-in-a-file');
    writeFileSync(redisFile, SECRETS.REDIS_PASSWORD, { mode: 0o600 });

    const result = await loadSettings({ env: { ...env, REDIS_PASSWORD_FILE: redisFile } });
    loaded.push(result);

    assert.equal(result.settings.redis.password, SECRETS.REDIS_PASSWORD);
    assert.deepEqual([...result.managedSecrets].sort(), ['DATABASE_PASSWORD', 'JWT_PREVIOUS_SECRET', 'JWT_SECRET']);
  });

  it('should load without a secret manager when none is configured', async () => {
    const result = await loadSettings({ env: {} });

    assert.equal(result.secretManager, undefined);
    assert.equal(result.settings.environment, 'development');
  });
});

describe('loadSettings before connecting', () => {
  it('should refuse a plain client secret in production without ever sending it', async () => {
    const env: Record<string, string> = await productionEnvWithInfisical();
    delete env.INFISICAL_CLIENT_SECRET_FILE;
    env.INFISICAL_CLIENT_SECRET = CLIENT_SECRET;

    const error = await loadSettings({ env }).then(
      () => assert.fail('expected a rejection'),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((problem) => problem.env),
      ['INFISICAL_CLIENT_SECRET'],
    );
    assert.equal(fakes.at(-1)?.logins, 0, 'no login was attempted');
  });
});
