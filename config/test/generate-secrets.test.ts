import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig, secretWeakness } from '../src/index.ts';
import { PLATFORM_SECRETS } from '../src/secret-files.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/generate-secrets.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pdpl-generate-'));
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
const freshDir = () => join(root, `secrets-${++count}`);

function generate(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, PDPL_SECRETS_GID: '10001' },
  });
}

const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

describe('secrets:generate', () => {
  it('should write every platform secret, strong enough for production, readable by the secrets group', async () => {
    const dir = freshDir();

    const { stdout, stderr } = await generate('--dir', dir);

    assert.deepEqual(
      stdout.trim().split('\n'),
      PLATFORM_SECRETS.map((secret) => secret.file),
    );
    assert.equal(stderr, `secrets:generate: written to ${dir} (names only, never values):\n`);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const secret of PLATFORM_SECRETS) {
      const path = join(dir, secret.file);
      assert.equal(statSync(path).mode & 0o777, 0o640, secret.file);
      assert.equal(statSync(path).gid, 10001, secret.file);
      assert.equal(secretWeakness(secret.setting, read(dir, secret.file)), undefined, secret.file);
      assert.ok(!stdout.includes(read(dir, secret.file)), 'no value is printed');
    }
  });

  it('should produce secrets that pass the production configuration as they are', async () => {
    const dir = freshDir();
    await generate('--dir', dir);

    const settings = loadConfig({
      env: {
        ENVIRONMENT: 'production',
        LOG_LEVEL: 'warn',
        DATABASE_HOST: 'postgres',
        DATABASE_SSL_MODE: 'verify-full',
        REDIS_HOST: 'redis',
        REDIS_TLS: 'true',
        DATABASE_PASSWORD_FILE: join(dir, 'postgres_app_password'),
        REDIS_PASSWORD_FILE: join(dir, 'redis_password'),
        JWT_SECRET_FILE: join(dir, 'jwt_secret'),
      },
    });

    assert.equal(settings.environment, 'production');
  });

  it("should make Infisical's keys in the formats it demands, and URL-safe passwords for its users", async () => {
    const dir = freshDir();

    await generate('--dir', dir);

    // Tested, never shown: a failing assertion would print the value. ENCRYPTION_KEY: 16 random bytes as 32 hex
    // digits; AUTH_SECRET: 32 random bytes in base64.
    assert.ok(/^[0-9a-f]{32}$/.test(read(dir, 'infisical_encryption_key')), 'the key is not 32 hex digits');
    assert.ok(/^[A-Za-z0-9+/]{43}=$/.test(read(dir, 'infisical_auth_secret')), 'the auth secret is not base64');
    assert.equal(Buffer.from(read(dir, 'infisical_auth_secret'), 'base64').length, 32);
    // They go into Infisical's database and Redis URLs unescaped.
    for (const name of ['postgres_infisical_password', 'redis_infisical_password']) {
      assert.ok(/^[A-Za-z0-9_-]{43}$/.test(read(dir, name)), `${name} is not 32 bytes in base64url`);
    }
  });

  it('should keep existing secrets unless asked; --force replaces them, but not the keys of stored data', async () => {
    const dir = freshDir();
    await generate('--dir', dir);
    writeFileSync(join(dir, 'jwt_secret'), 'kept-as-it-was');
    const before = read(dir, 'redis_password');
    const dataKeys = ['infisical_encryption_key', 'grafana_admin_password', 'grafana_secret_key'];
    const dataKeysBefore = dataKeys.map((name) => read(dir, name));

    const again = await generate('--dir', dir);
    const kept = read(dir, 'jwt_secret');
    const forced = await generate('--dir', dir, '--force');

    assert.equal(again.stdout, '');
    assert.match(
      again.stderr,
      /--force replaces all but infisical_encryption_key, grafana_admin_password, grafana_secret_key, held in stored/,
    );
    assert.equal(kept, 'kept-as-it-was');
    assert.deepEqual(
      forced.stdout.trim().split('\n'),
      PLATFORM_SECRETS.map((secret) => secret.file).filter((name) => !dataKeys.includes(name)),
    );
    assert.notEqual(read(dir, 'redis_password'), before);
    assert.notEqual(read(dir, 'jwt_secret'), 'kept-as-it-was');
    assert.deepEqual(
      dataKeys.map((name) => read(dir, name)),
      dataKeysBefore,
    );
    assert.match(
      forced.stderr,
      /kept infisical_encryption_key, grafana_admin_password, grafana_secret_key: each is held in what its service/,
    );
  });

  it('should exit 64 with the usage for an unknown argument', async () => {
    await assert.rejects(generate('--dri', freshDir()), (error: Error) => {
      assert.equal((error as { code?: number }).code, 64);
      assert.match(String((error as { stderr?: string }).stderr), /usage: npm run secrets:generate/);
      return true;
    });
  });
});

describe('jwt:rotate', () => {
  const ROTATE = fileURLToPath(new URL('../src/cli/rotate-jwt-key.ts', import.meta.url));
  const rotate = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', ROTATE, ...args], { env: { ...process.env, PDPL_SECRETS_GID: '10001' } });

  it('should make the current key the previous one and draw a new current key, fit for production', async () => {
    const dir = freshDir();
    await generate('--dir', dir);
    const [current, previous] = [read(dir, 'jwt_secret'), read(dir, 'jwt_previous_secret')];

    await rotate('--dir', dir);

    assert.equal(read(dir, 'jwt_previous_secret'), current);
    assert.notEqual(read(dir, 'jwt_secret'), current);
    assert.notEqual(read(dir, 'jwt_secret'), previous);
    assert.equal(secretWeakness('jwt.secret', read(dir, 'jwt_secret')), undefined);
    assert.equal(statSync(join(dir, 'jwt_secret')).mode & 0o777, 0o640);
  });

  it('should retire the previous key alone, with --retire', async () => {
    const dir = freshDir();
    await generate('--dir', dir);
    await rotate('--dir', dir);
    const [current, previous] = [read(dir, 'jwt_secret'), read(dir, 'jwt_previous_secret')];

    await rotate('--dir', dir, '--retire');

    assert.equal(read(dir, 'jwt_secret'), current);
    assert.notEqual(read(dir, 'jwt_previous_secret'), previous);
    assert.equal(secretWeakness('jwt.previousSecret', read(dir, 'jwt_previous_secret')), undefined);
  });

  it('should fail, writing nothing, when there is no key to rotate', async () => {
    const dir = freshDir();

    await assert.rejects(rotate('--dir', dir), (error: Error) => {
      assert.equal((error as { code?: number }).code, 1);
      assert.match(
        String((error as { stderr?: string }).stderr),
        /jwt_secret does not exist; run npm run secrets:generate/,
      );
      return true;
    });
  });
});
