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

function check(dir: string): Promise<Outcome> {
  return run(process.execPath, ['--import', 'tsx', CLI], { env: { ...process.env, PDPL_SECRETS_DIR: dir } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('check-secret-files', () => {
  it('should pass generated secrets without a word', async () => {
    const outcome = await check(generatedDir());

    assert.deepEqual(outcome, { code: 0, stdout: '', stderr: '' });
  });

  it('should pass where there is no secrets directory yet (secrets:generate makes it)', async () => {
    const outcome = await check(join(root, 'missing'));

    assert.equal(outcome.code, 0);
  });

  it('should fail with exit 1, naming the file but not the value, on a weak password only PostgreSQL reads', async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'postgres_superuser_password'), 'changeme-postgres-2026');

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(
      outcome.stderr,
      /config:check: FAIL: \S+\/postgres_superuser_password looks like a placeholder or a word/,
    );
    assert.match(outcome.stderr, /; delete the file and run npm run secrets:generate, then recreate the services/);
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
    assert.match(outcome.stderr, /postgres_backup_password is empty; write the value into it/);
    assert.match(outcome.stderr, /postgres_readonly_password has the same value as postgres_app_password/);
  });

  it('should never advise deleting a file whose service keeps it in its data', async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'grafana_admin_password'), 'changeme-grafana-admin');
    writeFileSync(join(dir, 'grafana_secret_key'), readFileSync(join(dir, 'postgres_owner_password')));

    const outcome = await check(dir);

    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /grafana_admin_password looks like a placeholder or a word; its service keeps it/);
    assert.match(outcome.stderr, /change it there first, then write the same value to the file/);
    // Of two files with one value, the one that keeps no data is the one to replace.
    assert.match(
      outcome.stderr,
      /postgres_owner_password has the same value as grafana_secret_key; delete the file and run/,
    );
    assert.doesNotMatch(outcome.stderr, /grafana_\w+ [^\n]*delete the file and run/);
  });

  it('should judge a data key brought from elsewhere by its form only, not by the entropy heuristic', async () => {
    const dir = generatedDir();
    // Hex, as Infisical demands, and 64 bits by the estimate: refused for a password, kept for an existing install.
    writeFileSync(join(dir, 'infisical_encryption_key'), 'a1b2'.repeat(8));

    assert.equal((await check(dir)).code, 0);
  });

  it('should exit 2, with the path and no verdict, when a file cannot be read', async () => {
    const dir = generatedDir();
    rmSync(join(dir, 'grafana_admin_password'));
    mkdirSync(join(dir, 'grafana_admin_password'));

    const outcome = await check(dir);

    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /FAIL: \S+\/grafana_admin_password cannot be read; check the file's owner and mode/);
  });

  it("should leave the API's own secrets to the check of its settings, which names them by variable", async () => {
    const dir = generatedDir();
    writeFileSync(join(dir, 'jwt_secret'), 'changeme-changeme-changeme-changeme');

    assert.equal((await check(dir)).code, 0);
  });
});
