import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/make-tls-certs.sh', import.meta.url));
const dirs: string[] = [];

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function secretsDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pdpl-secrets-')), 'secrets');
  dirs.push(dir);
  return dir;
}

async function makeCerts(dir: string, env: Record<string, string> = {}) {
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

/** What `openssl verify` says of the edge's certificate, for a host, against the CA. */
const edgeVerifiedFor = (dir: string, host: string) =>
  openssl('verify', '-verify_hostname', host, '-CAfile', `${dir}/tls/ca.crt`, `${dir}/tls/server.crt`);
const openssl = async (...args: string[]) => (await run('openssl', args)).stdout;

describe('make-tls-certs.sh', () => {
  it('should make a CA and a pair for the edge and each data service, keys readable only by the secrets group', async () => {
    const dir = secretsDir();

    const { stdout } = await makeCerts(dir);

    const pairs = ['server', 'postgres', 'redis'].flatMap((name) => [`tls/${name}.key`, `tls/${name}.crt`]);
    assert.deepEqual(stdout.trim().split('\n'), ['tls/ca.key', 'tls/ca.crt', ...pairs]);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'tls/ca.key')), 0o600);
    assert.equal(mode(join(dir, 'tls/ca.crt')), 0o644);
    for (const name of ['server', 'postgres', 'redis']) {
      assert.equal(mode(join(dir, `tls/${name}.key`)), 0o640, name);
      assert.equal(statSync(join(dir, `tls/${name}.key`)).gid, 10001, name);
    }
  });

  it('should name each data service as the API reaches it, and nothing else', async () => {
    const dir = secretsDir();

    await makeCerts(dir, { PDPL_PUBLIC_HOST: 'pdpl.example.vn' });

    for (const service of ['postgres', 'redis']) {
      const names = await openssl('x509', '-in', `${dir}/tls/${service}.crt`, '-noout', '-ext', 'subjectAltName');
      assert.match(names, new RegExp(`DNS:${service}, DNS:localhost, IP Address:127\\.0\\.0\\.1`), service);
      assert.doesNotMatch(names, /pdpl\.example\.vn/, service);
      const verified = await openssl(
        'verify',
        '-verify_hostname',
        service,
        '-CAfile',
        `${dir}/tls/ca.crt`,
        `${dir}/tls/${service}.crt`,
      );
      assert.match(verified, /: OK/, service);
    }
  });

  it('should change nothing and print nothing on a second run', async () => {
    const dir = secretsDir();
    await makeCerts(dir);
    const before = snapshot(dir);

    const { stdout } = await makeCerts(dir);

    assert.equal(stdout, '');
    assert.deepEqual(snapshot(dir), before);
  });

  it('should sign a server certificate for localhost and PDPL_PUBLIC_HOST that verifies against the CA', async () => {
    const dir = secretsDir();

    await makeCerts(dir, { PDPL_PUBLIC_HOST: 'pdpl.example.vn' });

    for (const host of ['localhost', 'pdpl.example.vn']) {
      assert.match(await edgeVerifiedFor(dir, host), /: OK/, host);
    }
  });

  it('should sign for a PDPL_PUBLIC_HOST longer than a common name may be (64), naming it in subjectAltName', async () => {
    const dir = secretsDir();
    const host = 'the-public-name-of-this-platform-edge.compliance-department.example.vn';

    await makeCerts(dir, { PDPL_PUBLIC_HOST: host });
    const verified = await edgeVerifiedFor(dir, host);

    assert.ok(host.length > 64);
    assert.match(verified, /: OK/);
  });

  it('should replace a server certificate that expires within 30 days', async () => {
    const dir = secretsDir();
    await makeCerts(dir);
    const tls = join(dir, 'tls');
    await openssl('req', '-new', '-key', `${tls}/server.key`, '-subj', '/CN=localhost', '-out', `${tls}/short.csr`);
    const ca = ['-CA', `${tls}/ca.crt`, '-CAkey', `${tls}/ca.key`];
    await openssl('x509', '-req', '-in', `${tls}/short.csr`, ...ca, '-days', '1', '-out', `${tls}/server.crt`);

    const { stdout, stderr } = await makeCerts(dir);

    assert.match(stderr, /expires within 30 days/);
    assert.match(stdout, /tls\/server\.crt/);
    await assert.doesNotReject(
      openssl('x509', '-in', `${tls}/server.crt`, '-noout', '-checkend', String(30 * 24 * 3600)),
    );
  });

  it('should exit non-zero with a FAIL line for a malformed PDPL_PUBLIC_HOST', async () => {
    await assert.rejects(makeCerts(secretsDir(), { PDPL_PUBLIC_HOST: 'bad host;rm' }), (error: Error) => {
      assert.equal((error as { code?: number }).code, 1);
      assert.match(String((error as { stderr?: string }).stderr), /FAIL: PDPL_PUBLIC_HOST must be a DNS name/);
      return true;
    });
  });
});
