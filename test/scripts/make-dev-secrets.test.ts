import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/make-dev-secrets.sh', import.meta.url));
const PASSWORDS = ['postgres_superuser_password', 'postgres_app_password', 'redis_password'];
const dirs: string[] = [];

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function secretsDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pdpl-secrets-')), 'secrets');
  dirs.push(dir);
  return dir;
}

async function makeSecrets(dir: string, env: Record<string, string> = {}) {
  return run('bash', [SCRIPT], { env: { ...process.env, PDPL_SECRETS_DIR: dir, PDPL_SECRETS_GID: '10001', ...env } });
}

/** Every file below the folder with its content, so two snapshots compare whole trees. */
function snapshot(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => statSync(join(dir, name)).isFile());
  return Object.fromEntries(files.sort().map((name) => [name, readFileSync(join(dir, name), 'base64')]));
}

const mode = (path: string) => statSync(path).mode & 0o777;
const openssl = async (...args: string[]) => (await run('openssl', args)).stdout;

describe('make-dev-secrets.sh', () => {
  it('should create every secret with a strong random value, readable only by the secrets group', async () => {
    const dir = secretsDir();

    const { stdout } = await makeSecrets(dir);

    assert.equal(mode(dir), 0o700);
    for (const name of PASSWORDS) {
      assert.match(readFileSync(join(dir, name), 'utf8'), /^[A-Za-z0-9_-]{43}$/, name);
      assert.equal(mode(join(dir, name)), 0o640, name);
      assert.equal(statSync(join(dir, name)).gid, 10001, name);
    }
    assert.match(readFileSync(join(dir, 'jwt_secret'), 'utf8'), /^[A-Za-z0-9_-]{86}$/);
    assert.equal(mode(join(dir, 'tls/ca.key')), 0o600);
    assert.equal(mode(join(dir, 'tls/server.key')), 0o640);
    assert.equal(new Set(PASSWORDS.map((name) => readFileSync(join(dir, name), 'utf8'))).size, PASSWORDS.length);
    for (const name of [...PASSWORDS, 'jwt_secret']) {
      assert.ok(!stdout.includes(readFileSync(join(dir, name), 'utf8')), 'no value is printed');
    }
  });

  it('should change nothing and print nothing on a second run', async () => {
    const dir = secretsDir();
    await makeSecrets(dir);
    const before = snapshot(dir);

    const { stdout } = await makeSecrets(dir);

    assert.equal(stdout, '');
    assert.deepEqual(snapshot(dir), before);
  });

  it('should sign a server certificate for localhost and PDPL_PUBLIC_HOST that verifies against the CA', async () => {
    const dir = secretsDir();

    await makeSecrets(dir, { PDPL_PUBLIC_HOST: 'pdpl.example.vn' });

    for (const host of ['localhost', 'pdpl.example.vn']) {
      const verified = await openssl(
        'verify',
        '-verify_hostname',
        host,
        '-CAfile',
        `${dir}/tls/ca.crt`,
        `${dir}/tls/server.crt`,
      );
      assert.match(verified, /: OK/, host);
    }
  });

  it('should replace a server certificate that expires within 30 days', async () => {
    const dir = secretsDir();
    await makeSecrets(dir);
    const tls = join(dir, 'tls');
    await openssl('req', '-new', '-key', `${tls}/server.key`, '-subj', '/CN=localhost', '-out', `${tls}/short.csr`);
    const ca = ['-CA', `${tls}/ca.crt`, '-CAkey', `${tls}/ca.key`];
    await openssl('x509', '-req', '-in', `${tls}/short.csr`, ...ca, '-days', '1', '-out', `${tls}/server.crt`);

    const { stdout, stderr } = await makeSecrets(dir);

    assert.match(stderr, /expires within 30 days/);
    assert.match(stdout, /tls\/server\.crt/);
    await assert.doesNotReject(
      openssl('x509', '-in', `${tls}/server.crt`, '-noout', '-checkend', String(30 * 24 * 3600)),
    );
  });

  it('should exit non-zero with a FAIL line for a malformed PDPL_PUBLIC_HOST', async () => {
    await assert.rejects(makeSecrets(secretsDir(), { PDPL_PUBLIC_HOST: 'bad host;rm' }), (error: Error) => {
      assert.equal((error as { code?: number }).code, 1);
      assert.match(String((error as { stderr?: string }).stderr), /FAIL: PDPL_PUBLIC_HOST must be a DNS name/);
      return true;
    });
  });
});
