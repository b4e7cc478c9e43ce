import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateSecretFiles } from '../src/secret-files.ts';

// The secret files only the data services read, judged on the host by `config:check -- --compose` (and npm run up).

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/check-secret-files.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pdpl-check-secrets-'));
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
function generatedDir(): string {
  const dir = join(root, `secrets-${++count}`);
  generateSecretFiles({ dir, gid: process.getgid?.() ?? 0, overwrite: false });
  return dir;
}

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function check(dir: string, ...args: string[]): Promise<Outcome> {
  const options = { env: { ...process.env, PDPL_SECRETS_DIR: dir }, timeout: 30_000 };
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], options).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('check-secret-files', () => {
  it('should pass generated secrets without a word', async () => {
    const outcome = await check(generatedDir());

    assert.deepEqual(outcome, { code: 0, stdout: '', stderr: '' });
  });

  it('should name a file that does not exist, which secrets:generate makes', async () => {
    const dir = generatedDir();
    rmSync(join(dir, 'postgres_superuser_password'));

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /postgres_superuser_password does not exist; run npm run secrets:generate/);
  });

  it('should fail with exit 1, naming the file, not the value, on a weak password only PostgreSQL reads', async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'postgres_superuser_password'), 'changeme-postgres-2026');

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(
      outcome.stderr,
      /config:check: FAIL: \S+\/postgres_superuser_password looks like a placeholder or a word/,
    );
    assert.match(outcome.stderr, /; delete the file and run npm run secrets:generate, then npm run up recreates/);
    assert.doesNotMatch(outcome.stderr, /changeme-postgres/);
  });

  it('should name every problem at once: a short key, an empty file, a value another file holds too', async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'infisical_auth_secret'), 'Qx7-vR2p');
    writeFileSync(join(dir, 'postgres_backup_password'), '\n');
    // As the services read it: one trailing newline is not part of the value.
    writeFileSync(join(dir, 'postgres_readonly_password'), `${readFileSync(join(dir, 'postgres_app_password'))}\n`);

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /infisical_auth_secret is shorter than 16 characters/);
    assert.match(outcome.stderr, /postgres_backup_password is empty; delete the file and run npm run secrets:generate/);
    assert.match(outcome.stderr, /postgres_readonly_password has the same value as postgres_app_password/);
  });

  it('should never advise deleting a file its service keeps in its data, but before its first start', async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'grafana_admin_password'), 'changeme-grafana-admin');
    writeFileSync(join(dir, 'grafana_secret_key'), readFileSync(join(dir, 'postgres_owner_password')));

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /grafana_admin_password looks like a placeholder or a word; Grafana keeps it/);
    assert.match(outcome.stderr, /grafana cli admin reset-admin-password/);
    // Of two files with one value, the one that keeps no data is the one to replace.
    assert.match(
      outcome.stderr,
      /postgres_owner_password has the same value as grafana_secret_key; delete the file and run/,
    );
    // Deleting comes only with its condition: before the service's first start.
    assert.doesNotMatch(outcome.stderr, /grafana_\w+ [^;\n]*; delete the file/);
  });

  it('should judge a data key brought from elsewhere by its form only, not by the entropy heuristic', async () => {
    const dir = generatedDir();
    // Hex, as Infisical demands, and 64 bits by the estimate: refused for a password, kept for an existing install.
    writeFileSync(join(dir, 'infisical_encryption_key'), 'a1b2'.repeat(8));

    assert.equal((await check(dir)).code, 0);
  });

  it('should exit 2, with the path and no verdict, for a directory or a pipe where a file belongs', async () => {
    const dir = generatedDir();
    rmSync(join(dir, 'grafana_admin_password'));
    mkdirSync(join(dir, 'grafana_admin_password'));
    const piped = generatedDir();
    rmSync(join(piped, 'grafana_secret_key'));
    await run('mkfifo', [join(piped, 'grafana_secret_key')]);

    const directory = await check(dir);
    // Reading a pipe would wait for a writer for ever: it is never opened.
    const pipe = await check(piped);

    assert.equal(directory.code, 2);
    assert.match(directory.stderr, /FAIL: \S+\/grafana_admin_password is a directory; it must be a file/);
    assert.equal(pipe.code, 2);
    assert.match(pipe.stderr, /grafana_secret_key is not a regular file/);
  });

  it("should hold Infisical's files to the form its entrypoint demands, and every file to a length", async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'infisical_encryption_key'), 'q1Zk8w3Rt6Yp0Lm2Nv5Bc7Xd9Fg4Hj2A');
    writeFileSync(join(dir, 'postgres_infisical_password'), 'Xk9#mP2$vL8@qR5!tW3%zN7&yB4*cF6/');
    writeFileSync(join(dir, 'redis_infisical_password'), `${readFileSync(join(dir, 'redis_infisical_password'))}\r\n`);
    writeFileSync(join(dir, 'redis_operator_password'), 'k'.repeat(600) + 'Zq8'.repeat(200));

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /infisical_encryption_key is not 32 lowercase hex digits/);
    assert.match(outcome.stderr, /postgres_infisical_password holds characters a URL must escape/);
    // Infisical's entrypoint keeps the carriage return of a CRLF line ending.
    assert.match(outcome.stderr, /redis_infisical_password holds characters a URL must escape/);
    assert.match(outcome.stderr, /redis_operator_password is longer than 1024 characters/);
  });

  it("should give config:check's JSON report on standard output with --json", async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'postgres_superuser_password'), 'changeme-postgres-2026');

    const outcome = await check(dir, '--json');

    assert.equal(outcome.code, 1);
    const report = JSON.parse(outcome.stdout);
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.problems.map((problem: { key: string; message: string }) => `${problem.key}: ${problem.message}`),
      ['secret file postgres_superuser_password: looks like a placeholder or a word'],
    );
    assert.doesNotMatch(outcome.stdout, /changeme-postgres/);
  });

  it("should leave the API's own secrets to the check of its settings, which names them by variable", async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'jwt_secret'), 'changeme-changeme-changeme-changeme');

    assert.equal((await check(dir)).code, 0);
  });
});
