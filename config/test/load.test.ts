import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { ConfigError } from '../src/index.ts';
import { loadConfig, REDACTED, redactSettings } from '../src/index.ts';
import { NO_DOTENV, problemsOf as problemsFor, scratchFolder } from './support.ts';

const scratch = scratchFolder('config');
const dir = scratch.path;
const secretFile = scratch.file;
const problemsOf = (env: Record<string, string>) => problemsFor({ env }, 'env');

describe('loadConfig', () => {
  it('should boot development with zero configuration', () => {
    const settings = loadConfig({ env: {} });

    assert.equal(settings.environment, 'development');
    assert.equal(settings.server.port, 3000);
    assert.equal(settings.database.host, 'localhost');
  });

  it('should read numbers and booleans only from exact spellings', () => {
    const settings = loadConfig({ env: { PORT: '8080', RELOAD: 'yes', DATABASE_POOL_MAX: '4' } });

    assert.equal(settings.server.port, 8080);
    assert.equal(settings.server.reload, true);
    assert.equal(settings.database.poolMax, 4);
  });

  it('should refuse an empty or blank value instead of treating it as false or zero', () => {
    assert.deepEqual(problemsOf({ PORT: '', RELOAD: '' }), ['PORT: is set but empty', 'RELOAD: is set but empty']);
    assert.deepEqual(problemsOf({ PORT: '   ', LOG_PRETTY: '\t' }), [
      'PORT: is set but empty',
      'LOG_PRETTY: is set but empty',
    ]);
  });

  it('should refuse a port that is out of range or not a number', () => {
    assert.match(problemsOf({ PORT: '70000' })[0] ?? '', /^PORT: must be a whole number from 1 to 65535/);
    assert.match(problemsOf({ PORT: '3000abc' })[0] ?? '', /^PORT: must be a whole number from 1 to 65535/);
  });

  it('should offer the default as the way out of a refused value, where there is one', () => {
    assert.throws(
      () => loadConfig({ env: { RATE_LIMIT_MAX: '0' }, dotenvPath: NO_DOTENV }),
      (error: ConfigError) => {
        assert.equal(error.problems[0]?.message, 'must be a whole number above 0');
        assert.match(error.problems[0]?.fix ?? '', /^correct RATE_LIMIT_MAX, or unset it to use its default/);
        return true;
      },
    );
  });

  it('should refuse a boolean it cannot read', () => {
    assert.match(problemsOf({ RELOAD: 'maybe' })[0] ?? '', /^RELOAD: must be true or false/);
  });

  it('should report every problem at once', () => {
    const problems = problemsOf({ PORT: '0', LOG_LEVEL: 'loud', ENVIRONMENT: 'staging' });

    assert.equal(problems.length, 3);
  });

  it('should read a secret from a _FILE path and strip one trailing newline', () => {
    const path = secretFile('redis-password', 'p+a/s=s$w@o:rd\n');

    const settings = loadConfig({ env: { REDIS_PASSWORD_FILE: path } });

    assert.equal(settings.redis.password, 'p+a/s=s$w@o:rd');
  });

  it('should take a secret from its _FILE over a value from the secret manager', () => {
    const path = secretFile('pinned-jwt', 'pinned-jwt-secret-from-the-file-123456');
    const secretManagerValues = new Map([
      ['JWT_SECRET', 'jwt-secret-from-the-secret-manager-654321'],
      ['REDIS_PASSWORD', 'redis-from-the-secret-manager'],
    ]);

    const settings = loadConfig({ env: { JWT_SECRET_FILE: path, REDIS_PASSWORD: 'plain' }, secretManagerValues });

    assert.equal(settings.jwt.secret, 'pinned-jwt-secret-from-the-file-123456');
    assert.equal(settings.redis.password, 'redis-from-the-secret-manager', 'over a plain variable, it wins');
  });

  it('should name the problem with a secret file that is missing, empty or padded', () => {
    const empty = secretFile('empty', '');
    const padded = secretFile('padded', 'secret\n\n');

    assert.deepEqual(problemsOf({ JWT_SECRET_FILE: join(dir, 'nope') }), [
      'JWT_SECRET: the file named by JWT_SECRET_FILE does not exist',
    ]);
    assert.deepEqual(problemsOf({ JWT_SECRET_FILE: empty }), [
      'JWT_SECRET: the file named by JWT_SECRET_FILE is empty',
    ]);
    assert.deepEqual(problemsOf({ JWT_SECRET_FILE: padded }), [
      'JWT_SECRET: the file named by JWT_SECRET_FILE has white space around its value',
    ]);
  });

  it('should never repeat the path, in case a secret was pasted where the path belongs', () => {
    const pasted = 'Kx9-pasted-secret-instead-of-a-path';

    const problems = problemsOf({ JWT_SECRET_FILE: pasted });

    assert.deepEqual(problems, ['JWT_SECRET: the file named by JWT_SECRET_FILE does not exist']);
  });

  it('should say a secret file cannot be read when the path is no readable file', () => {
    // A folder where the file should be fails to read for root too, unlike a mode of 000.
    assert.deepEqual(problemsOf({ JWT_SECRET_FILE: dir }), [
      'JWT_SECRET: the file named by JWT_SECRET_FILE cannot be read',
    ]);
  });

  it('should refuse a setting given both directly and through a file', () => {
    const path = secretFile('twice', 'x');

    assert.deepEqual(problemsOf({ REDIS_PASSWORD: 'x', REDIS_PASSWORD_FILE: path }), [
      'REDIS_PASSWORD: is set twice, directly and through a file',
    ]);
  });

  it('should read only secrets from files', () => {
    const path = secretFile('environment', 'production');

    assert.deepEqual(problemsOf({ ENVIRONMENT_FILE: path }), [
      'ENVIRONMENT: is not a secret, but ENVIRONMENT_FILE is set',
    ]);
  });

  it('should refuse a host with white space or a port in it', () => {
    assert.match(problemsOf({ REDIS_HOST: ' redis' })[0] ?? '', /^REDIS_HOST: must be a host name or an IP address/);
    assert.match(problemsOf({ DATABASE_HOST: 'postgres:5432' })[0] ?? '', /^DATABASE_HOST: must be a host name/);
  });

  it('should refuse a name with surrounding white space', () => {
    assert.match(
      problemsOf({ DATABASE_NAME: 'pdpl ' })[0] ?? '',
      /^DATABASE_NAME: must not start or end with white space/,
    );
  });

  it('should refuse token lifetimes that make refresh pointless or a stolen token last too long', () => {
    assert.deepEqual(problemsOf({ JWT_ACCESS_TTL_SECONDS: '3600', JWT_REFRESH_TTL_SECONDS: '3600' }), [
      'JWT_ACCESS_TTL_SECONDS: (3600 s) is not shorter than the refresh token lifetime (3600 s)',
    ]);
    assert.deepEqual(problemsOf({ JWT_ACCESS_TTL_SECONDS: '999999999', JWT_REFRESH_TTL_SECONDS: '999999999' }), [
      'JWT_ACCESS_TTL_SECONDS: is 999999999 s, over a day',
      'JWT_REFRESH_TTL_SECONDS: is 999999999 s, over 90 days',
    ]);
  });

  it('should return frozen settings', () => {
    const settings = loadConfig({ env: {} });

    assert.throws(() => {
      (settings.server as { port: number }).port = 1;
    }, TypeError);
  });
});

describe('redactSettings', () => {
  it('should replace every secret with the one placeholder', () => {
    const path = secretFile('db', 'database-secret-value');
    const settings = loadConfig({ env: { DATABASE_PASSWORD_FILE: path, JWT_SECRET_FILE: path } });

    const redacted = redactSettings(settings) as { database: { password: string }; jwt: { secret: string } };

    assert.ok(!JSON.stringify(redacted).includes('database-secret-value'));
    assert.equal(redacted.database.password, REDACTED);
    assert.equal(redacted.jwt.secret, REDACTED);
    assert.equal(settings.database.password, 'database-secret-value', 'the settings themselves stay intact');
  });
});

describe('settings when printed', () => {
  it('should show no secret through JSON.stringify, inspect, String or template strings, at any depth', () => {
    const secret = secretFile('printed', 'printed-secret-value-123456');
    const settings = loadConfig({ env: { REDIS_PASSWORD_FILE: secret, DATABASE_PASSWORD_FILE: secret } });

    const printed = [
      JSON.stringify(settings),
      JSON.stringify(settings.redis),
      JSON.stringify({ wrapped: settings }),
      inspect(settings, { depth: 10 }),
      inspect(settings.database),
      String(settings.redis),
      `${settings.database}`,
    ];

    for (const text of printed) assert.ok(!text.includes('printed-secret-value'), text);
    assert.match(JSON.stringify(settings.redis), /"password":"\[REDACTED\]"/);
    assert.equal(settings.redis.password, 'printed-secret-value-123456', 'reading the value still works');
    assert.deepEqual(Object.keys(settings.redis), [
      'host',
      'port',
      'username',
      'password',
      'tls',
      'caFile',
      'connectTimeoutMs',
      'commandTimeoutMs',
    ]);
  });
});
