import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/index.ts';
import { NO_DOTENV, scratchFolder } from './support.ts';

// The one report (issue #3): a header with the count, then a line a problem, each "- key (VARIABLE): what is wrong.
// Fix: how to put it right." Tested literally, since operators read it and scripts may grep it.

const scratch = scratchFolder('config-error');

function reportOf(env: Record<string, string>): string {
  try {
    loadConfig({ env, dotenvPath: NO_DOTENV });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.message;
  }
  return assert.fail('the configuration was accepted');
}

describe('ConfigError', () => {
  it('should report several problems at once, a line each: key, variable, what is wrong, the fix', () => {
    const report = reportOf({
      PORT: '70000',
      LOG_LEVEL: 'loud',
      DATABASE_NAME: ' ',
      JWT_SECRET_FILE: join(scratch.path, 'absent'),
      REDIS_PASSWORD: 'plain-redis-password-1234',
      REDIS_PASSWORD_FILE: join(scratch.path, 'absent-too'),
    });

    const reference = 'docs/configuration.md describes each setting';
    assert.equal(
      report,
      [
        'Invalid configuration, 5 problems:',
        '- database.name (DATABASE_NAME): is set but empty. Fix: unset DATABASE_NAME to use the default, or give a value.',
        '- redis.password (REDIS_PASSWORD): is set twice, directly and through a file. ' +
          'Fix: keep one of REDIS_PASSWORD and REDIS_PASSWORD_FILE.',
        '- jwt.secret (JWT_SECRET): the file named by JWT_SECRET_FILE does not exist. ' +
          "Fix: check the path in JWT_SECRET_FILE and the file's mode.",
        '- server.port (PORT): must be a whole number from 1 to 65535: value was 70000. ' +
          `Fix: correct PORT, or unset it to use its default (${reference}).`,
        '- log.level (LOG_LEVEL): must be one of the possible values: ' +
          '["fatal","error","warn","info","debug","trace","silent"]: value was "loud". ' +
          `Fix: correct LOG_LEVEL, or unset it to use its default (${reference}).`,
      ].join('\n'),
    );
    assert.ok(!report.includes('plain-redis-password-1234'), 'the report quotes a secret');
  });

  it('should report rule problems in the same form', () => {
    const report = reportOf({ JWT_ACCESS_TTL_SECONDS: '90000', JWT_REFRESH_TTL_SECONDS: '8000000' });

    assert.equal(
      report,
      [
        'Invalid configuration, 2 problems:',
        '- jwt.accessTtlSeconds (JWT_ACCESS_TTL_SECONDS): is 90000 s, over a day. Fix: use at most 86400.',
        '- jwt.refreshTtlSeconds (JWT_REFRESH_TTL_SECONDS): is 8000000 s, over 90 days. Fix: use at most 7776000.',
      ].join('\n'),
    );
  });

  it('should say "1 problem" for one, and keep the problems for machines', () => {
    const problem = { key: 'server.port', env: 'PORT', message: 'is wrong', fix: 'correct PORT' };

    const error = new ConfigError([problem]);

    assert.equal(
      error.message,
      'Invalid configuration, 1 problem:\n- server.port (PORT): is wrong. Fix: correct PORT.',
    );
    assert.deepEqual(error.problems, [problem]);
    assert.equal(error.name, 'ConfigError');
  });
});
