import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DataServices } from './data-services.ts';
import { startDataServices } from './data-services.ts';

// The one-shot commands as processes, the way the migrate service and `npm run user:create` run them.

const SRC = fileURLToPath(new URL('../../src/cli/', import.meta.url));
let services: DataServices;
let env: NodeJS.ProcessEnv;
let ownerEnv: NodeJS.ProcessEnv;

before(async () => {
  services = await startDataServices();
  // The migrate service runs as the owner role; user:create as the API's own role.
  ownerEnv = { PATH: process.env.PATH, ...services.ownerEnv, LOG_LEVEL: 'warn' };
  env = { PATH: process.env.PATH, ...services.env, LOG_LEVEL: 'warn' };
});
after(() => services?.stop());

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(script: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<Outcome>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', `${SRC}${script}`, ...args],
      { env: options.env ?? env },
      // A process killed by a signal has no exit code: -1 keeps it from passing for a success.
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

describe('migrate', () => {
  it('should apply the migrations once and then report the schema up to date', async () => {
    const first = await cli('migrate.ts', [], { env: ownerEnv });
    const second = await cli('migrate.ts', [], { env: ownerEnv });

    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied .*create-users/);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /schema is up to date/);
  });

  it("should be refused by the database as the API's own role, which may not change the schema", async () => {
    const outcome = await cli('migrate.ts', [], { env });

    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /^migrate: FAIL: .*permission denied for schema pdpl_migrations; .*pdpl_owner/m);
    assert.doesNotMatch(outcome.stderr, /\bat .*\.(js|ts|mjs):\d+/);
  });

  it('should exit 1 with the setting named when the configuration is invalid', async () => {
    const outcome = await cli('migrate.ts', [], { env: { ...ownerEnv, DATABASE_PORT: 'five' } });

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /database\.port \(DATABASE_PORT\): must be a whole number/);
  });

  it('should exit 2 without the password when the database refuses the credentials', async () => {
    const outcome = await cli('migrate.ts', [], { env: { ...ownerEnv, DATABASE_PASSWORD: 'wrong-password-xyz' } });

    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /^migrate: FAIL: .*password authentication failed/m);
    assert.doesNotMatch(outcome.stderr, /wrong-password-xyz/);
  });
});

describe('create-user', () => {
  before(() => cli('migrate.ts', [], { env: ownerEnv }));

  it('should create a user with the password read from standard input', async () => {
    const outcome = await cli('create-user.ts', ['--email', 'first@example.com'], { input: 'a good long password\n' });

    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /created first@example\.com/);
    assert.doesNotMatch(outcome.stdout + outcome.stderr, /a good long password/);
  });

  it('should exit 64 when the user exists', async () => {
    const outcome = await cli('create-user.ts', ['--email', 'FIRST@example.com'], { input: 'a good long password\n' });

    assert.equal(outcome.code, 64);
    assert.match(outcome.stderr, /already exists/);
  });

  it('should exit 64 when --email is missing or not an address', async () => {
    const missing = await cli('create-user.ts', [], { input: 'a good long password\n' });
    const malformed = await cli('create-user.ts', ['--email', 'nobody'], { input: 'a good long password\n' });

    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /--email is required/);
    assert.equal(malformed.code, 64);
    assert.match(malformed.stderr, /is not an email address/);
  });

  it('should exit 64 when the password is too short or absent', async () => {
    const short = await cli('create-user.ts', ['--email', 'second@example.com'], { input: 'short\n' });
    const absent = await cli('create-user.ts', ['--email', 'second@example.com'], { input: '' });

    assert.equal(short.code, 64);
    assert.match(short.stderr, /at least 12 characters/);
    assert.equal(absent.code, 64);
  });

  it('should exit 64 for a password login would refuse or that is trivially guessed', async () => {
    const long = await cli('create-user.ts', ['--email', 'third@example.com'], { input: `${'ab1'.repeat(400)}\n` });
    const uniform = await cli('create-user.ts', ['--email', 'third@example.com'], { input: 'aaaaaaaaaaaa\n' });

    assert.equal(long.code, 64);
    assert.match(long.stderr, /at most 1024 characters/);
    assert.equal(uniform.code, 64);
    assert.match(uniform.stderr, /at least 5 different characters/);
  });
});
