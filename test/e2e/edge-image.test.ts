import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions, TLSSocketOptions } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { REPO_ROOT } from './compose-stack.ts';

// The edge image on its own (issue #6): containers of pdpl/nginx started as compose starts them (no capability,
// read-only root, /tmp on tmpfs), in front of a stub API, so each behaviour is checked without a whole stack.

const run = promisify(execFile);
const VERSION = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')).version;
const IMAGE = `pdpl/nginx:${VERSION}`;
const suffix = randomBytes(4).toString('hex');
const NETWORK = `pdpl-edge-image-${suffix}`;
const work = mkdtempSync(join(tmpdir(), 'pdpl-edge-image-'));
const started: string[] = [];

const HARDENED = ['--cap-drop', 'ALL', '--read-only', '--tmpfs', '/tmp', '--security-opt', 'no-new-privileges'];

// Answers every path with the same JSON, large enough for gzip (4 KiB), as the API would label it, and tells in a
// header what nginx said about the client and the request.
const STUB_API = `
const body = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ id: i, name: 'item ' + i })) });
require('node:http').createServer((req, res) => {
  const seen = ['x-forwarded-for', 'x-forwarded-proto', 'x-request-id'].map((name) => [name, req.headers[name]]);
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'x-stub-saw': JSON.stringify(Object.fromEntries(seen)),
  });
  res.end(body);
}).listen(3000);`;

const openssl = (...args: string[]) => run('openssl', args);

/** Where the test CA's OCSP responder answers: a container of the test network, by this alias. */
const OCSP_RESPONDER = 'ocsp.example.test:8888';

/** A key and a certificate for localhost signed by the test CA; with an OCSP responder URL when asked. */
async function certificate(name: string, ocsp: boolean): Promise<{ cert: string; key: string }> {
  const path = (kind: string) => join(work, `${name}.${kind}`);
  const [key, csr, cert, ext] = [path('key'), path('csr'), path('crt'), path('ext')];
  const lines = ['subjectAltName=DNS:localhost,IP:127.0.0.1'];
  if (ocsp) lines.push(`authorityInfoAccess=OCSP;URI:http://${OCSP_RESPONDER}`);
  writeFileSync(ext, `${lines.join('\n')}\n`);
  await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
  await openssl('req', '-new', '-key', key, '-subj', '/CN=localhost', '-out', csr);
  const ca = ['-CA', join(work, 'ca.crt'), '-CAkey', join(work, 'ca.key')];
  await openssl('x509', '-req', '-in', csr, ...ca, '-days', '30', '-extfile', ext, '-out', cert);
  // The full chain, as a CA delivers it: nginx finds the issuer for stapling there.
  writeFileSync(cert, readFileSync(cert, 'utf8') + readFileSync(join(work, 'ca.crt'), 'utf8'));
  // The container's user is not the test's: these throwaway files are readable by all.
  for (const file of [key, cert]) chmodSync(file, 0o644);
  return { cert, key };
}

let plain: { cert: string; key: string };
let stapled: { cert: string; key: string };
let acme: string;

before(async () => {
  chmodSync(work, 0o755);
  await openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30'],
    ...['-subj', '/CN=edge image test CA', '-keyout', join(work, 'ca.key'), '-out', join(work, 'ca.crt')],
  );
  plain = await certificate('plain', false);
  stapled = await certificate('stapled', true);
  acme = join(work, 'acme');
  mkdirSync(join(acme, '.well-known/acme-challenge'), { recursive: true, mode: 0o755 });
  writeFileSync(join(acme, '.well-known/acme-challenge/token-123'), 'token-123.thumbprint');
  await run('docker', ['network', 'create', NETWORK]);
  const stub = ['--network', NETWORK, '--network-alias', 'api', `pdpl/api:${VERSION}`, 'node', '-e', STUB_API];
  started.push((await run('docker', ['run', '--detach', '--rm', ...HARDENED, ...stub])).stdout.trim());
});

after(async () => {
  for (const id of started) await run('docker', ['rm', '--force', id]).catch(() => undefined);
  await run('docker', ['network', 'rm', NETWORK]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const secretMounts = (pair: { cert: string; key: string }) => [
  ...['--volume', `${pair.cert}:/run/secrets/tls_certificate:ro`],
  ...['--volume', `${pair.key}:/run/secrets/tls_private_key:ro`],
];

/** A one-off command in the image, as compose would start it; its exit code and output, whatever they are. */
async function once(args: string[], command: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('docker', ['run', '--rm', ...HARDENED, ...args, IMAGE, ...command]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** A serving edge in front of the stub API, with its published ports on loopback. */
async function serve(extra: string[] = [], pair = plain): Promise<{ id: string; http: number; https: number }> {
  const ports = ['--publish', '127.0.0.1::8080', '--publish', '127.0.0.1::8443'];
  const args = ['run', '--detach', ...HARDENED, ...ports, '--network', NETWORK, ...secretMounts(pair), ...extra];
  const id = (await run('docker', [...args, IMAGE])).stdout.trim();
  started.push(id);
  const port = async (inside: number) =>
    Number((await run('docker', ['port', id, `${inside}/tcp`])).stdout.trim().split(':').at(-1));
  for (let attempt = 0; attempt < 40; attempt++) {
    const probe = await run('docker', ['exec', id, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/8443']).then(
      () => true,
      () => false,
    );
    if (probe) break;
    await sleep(250);
  }
  return { id, http: await port(8080), https: await port(8443) };
}

/** The test CA's certificate, what clients verify the edge against. */
const caFile = () => readFileSync(join(work, 'ca.crt'));

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** As received: still compressed when the answer is. */
  readonly body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, ca: caFile(), servername: 'localhost', headers };
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One TLS handshake asking for a stapled OCSP answer: the answer, or undefined when the server staples none. */
function stapleOf(port: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let staple: Buffer | undefined;
    // tls.connect hands requestOCSP to the socket it makes, though @types/node lists it for the socket only.
    const options: ConnectionOptions & Pick<TLSSocketOptions, 'requestOCSP'> = {
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: caFile(),
      requestOCSP: true,
    };
    const socket = tlsConnect(options);
    // Node passes null when the server staples nothing.
    socket.on('OCSPResponse', (response: Buffer | null) => {
      staple = response?.length ? response : undefined;
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(staple);
    });
    socket.once('error', reject);
  });
}

const exitCodeOf = async (id: string) => Number((await run('docker', ['wait', id])).stdout.trim());

describe('the pdpl/nginx image', () => {
  it('should staple OCSP only for a certificate that names a responder, and pass nginx -t both ways', async () => {
    const resolvable = ['--add-host', 'api:127.0.0.1', '--add-host', 'ocsp.example.test:127.0.0.1'];

    const withResponder = await once([...resolvable, ...secretMounts(stapled)], ['nginx', '-T']);
    const without = await once([...resolvable, ...secretMounts(plain)], ['nginx', '-T']);

    assert.equal(withResponder.code, 0, withResponder.output);
    assert.match(withResponder.output, /test is successful/);
    assert.match(withResponder.output, /^ssl_stapling on;$/m);
    assert.match(withResponder.output, /^ssl_stapling_verify on;$/m);
    assert.doesNotMatch(withResponder.output, /"ssl_stapling" ignored/);
    assert.equal(without.code, 0, without.output);
    assert.match(without.output, /test is successful/);
    assert.match(without.output, /names no OCSP responder: no stapling/);
    assert.doesNotMatch(without.output, /ssl_stapling on/);
  });

  it("should staple the responder's signed answer to its handshakes, and none for a certificate without one", async () => {
    // The test CA's responder, signing with the CA's own key; its index knows the stapled certificate as valid.
    const serial = (await openssl('x509', '-noout', '-serial', '-in', stapled.cert)).stdout.trim().split('=')[1];
    writeFileSync(join(work, 'index.txt'), `V\t301231235959Z\t\t${serial}\tunknown\t/CN=localhost\n`);
    chmodSync(join(work, 'ca.key'), 0o644);
    const [host, port] = OCSP_RESPONDER.split(':') as [string, string];
    const responder = ['--network', NETWORK, '--network-alias', host, '--volume', `${work}:/ocsp:ro`];
    const ocsp = ['-index', '/ocsp/index.txt', '-port', port, '-CA', '/ocsp/ca.crt'];
    const signer = ['-rsigner', '/ocsp/ca.crt', '-rkey', '/ocsp/ca.key', '-nmin', '5'];
    const command = ['--entrypoint', 'openssl', IMAGE, 'ocsp', ...ocsp, ...signer];
    started.push((await run('docker', ['run', '--detach', ...HARDENED, ...responder, ...command])).stdout.trim());
    // The test CA stands for a public one, in the trust store nginx checks stapled answers against.
    const trust = ['--volume', `${join(work, 'ca.crt')}:/etc/ssl/certs/ca-certificates.crt:ro`];
    const withResponder = await serve(trust, stapled);
    const without = await serve(trust);

    // nginx asks the responder at the first handshake, and staples its answer to the ones after it.
    let staple: Buffer | undefined;
    for (let attempt = 0; attempt < 40 && !staple; attempt++) {
      staple = await stapleOf(withResponder.https);
      if (!staple) await sleep(250);
    }
    assert.ok(staple, 'a stapled OCSP answer within 10 s');
    writeFileSync(join(work, 'staple.der'), staple);
    const checked = await openssl(
      ...['ocsp', '-respin', join(work, 'staple.der'), '-CAfile', join(work, 'ca.crt')],
      ...['-issuer', join(work, 'ca.crt'), '-cert', stapled.cert, '-resp_text'],
    );

    assert.match(checked.stdout + checked.stderr, /Response verify OK/);
    assert.match(checked.stdout, /Cert Status: good/);
    assert.equal(await stapleOf(without.https), undefined);
  });

  it('should refuse a bad HTTPS port and a missing certificate with a clear error', async () => {
    const port = await once(['--env', 'PUBLIC_HTTPS_PORT=70000', ...secretMounts(plain)], ['nginx', '-t']);
    const noCertificate = await once([], ['nginx', '-t']);

    assert.equal(port.code, 1);
    assert.match(port.output, /FAIL: PUBLIC_HTTPS_PORT must be a port number from 1 to 65535, got: 70000/);
    assert.equal(noCertificate.code, 1);
    assert.match(noCertificate.output, /FAIL: the certificate \/run\/secrets\/tls_certificate is missing/);
  });

  it('should run master and workers unprivileged, with every capability set empty', async () => {
    const { id } = await serve();
    const script =
      'for s in /proc/[0-9]*/status; do grep -q "^Name:.nginx" "$s" && grep -E "^(Uid|Cap(Inh|Prm|Eff|Bnd|Amb))" "$s"; done; true';

    const status = (await run('docker', ['exec', id, 'bash', '-c', script])).stdout;

    const uids = [...status.matchAll(/^Uid:\s+(\d+)/gm)].map((match) => Number(match[1]));
    const capabilities = [...status.matchAll(/^Cap\w+:\s+(\w+)/gm)].map((match) => match[1]);
    assert.ok(uids.length >= 2, status);
    assert.ok(
      uids.every((uid) => uid !== 0),
      status,
    );
    assert.equal(capabilities.length, uids.length * 5);
    assert.ok(
      capabilities.every((set) => /^0+$/.test(set ?? '')),
      status,
    );
  });

  it('should compress JSON from the API, except on the auth paths', async () => {
    const { https } = await serve();

    const json = await get(https, '/v1/me', { 'accept-encoding': 'gzip' });
    const auth = await get(https, '/v1/auth/login', { 'accept-encoding': 'gzip' });
    const unasked = await get(https, '/v1/me');

    assert.equal(json.status, 200);
    assert.equal(json.headers['content-encoding'], 'gzip');
    assert.match(String(json.headers.vary), /Accept-Encoding/);
    assert.equal(auth.status, 200);
    assert.equal(auth.headers['content-encoding'], undefined, 'same JSON, never compressed under /v1/auth/');
    assert.equal(unasked.headers['content-encoding'], undefined);
  });

  it("should tell the API the client's address, the scheme and a request id of its own, whatever the client sent", async () => {
    const { https } = await serve();
    const forged = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-request-id': 'chosen-id' };

    const honest = await get(https, '/v1/me');
    const forging = await get(https, '/v1/me', forged);
    const sawHonest = JSON.parse(String(honest.headers['x-stub-saw']));
    const sawForging = JSON.parse(String(forging.headers['x-stub-saw']));

    // One address, the connection's own, never a list a client could start.
    assert.match(sawHonest['x-forwarded-for'], /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(sawForging['x-forwarded-for'], sawHonest['x-forwarded-for']);
    assert.equal(sawForging['x-forwarded-proto'], 'https');
    assert.match(sawForging['x-request-id'], /^[0-9a-f]{32}$/);
    assert.equal(forging.headers['x-request-id'], sawForging['x-request-id']);
  });

  it("should answer headers over nginx's buffers with the catalogue's JSON 431, not an HTML page", async () => {
    const { https } = await serve();

    const answer = await get(https, '/v1/me', { 'x-padding': 'a'.repeat(10_000) });

    assert.equal(answer.status, 431);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    assert.equal(JSON.parse(answer.body.toString()).error.code, 'HEADERS_TOO_LARGE');
  });

  it('should serve ACME challenges from /var/www/acme on plain HTTP and redirect everything else', async () => {
    const { http } = await serve(['--volume', `${acme}:/var/www/acme:ro`]);
    const base = `http://127.0.0.1:${http}`;

    const token = await fetch(`${base}/.well-known/acme-challenge/token-123`, { redirect: 'manual' });
    const missing = await fetch(`${base}/.well-known/acme-challenge/other`, { redirect: 'manual' });
    const other = await fetch(`${base}/.well-known/other`, { redirect: 'manual' });

    assert.equal(token.status, 200);
    assert.equal(await token.text(), 'token-123.thumbprint');
    assert.equal(missing.status, 404);
    assert.equal(other.status, 301);
    assert.equal(other.headers.get('location'), 'https://localhost/.well-known/other');
  });

  it('should stop at once and cleanly on docker stop: the signal reaches nginx', async () => {
    const { id } = await serve();

    const begun = Date.now();
    await run('docker', ['stop', '--time', '10', id]);
    const took = Date.now() - begun;

    assert.ok(took < 5000, `stopped in ${took} ms, not killed at the 10 s timeout`);
    assert.equal(await exitCodeOf(id), 0, 'nginx handled SIGQUIT and exited 0 (a SIGKILL gives 137)');
  });

  it('should end the container when nginx exits, and when the watch loop dies', async () => {
    const nginxExits = await serve();
    const loopDies = await serve();
    const killLoop = `for p in /proc/[0-9]*; do
      pid=\${p#/proc/}
      [[ $pid != 1 && $pid != $$ ]] || continue
      [[ $(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null) != "bash /usr/local/bin/docker-entrypoint.sh"* ]] || kill -TERM "$pid"
    done`;

    await run('docker', ['exec', '--detach', nginxExits.id, 'nginx', '-s', 'stop']);
    // Detached: the container, and this exec with it, may be gone before the exec returns.
    await run('docker', ['exec', '--detach', loopDies.id, 'bash', '-c', killLoop]);

    assert.equal(await exitCodeOf(nginxExits.id), 0);
    assert.equal(await exitCodeOf(loopDies.id), 0, 'the loop stopped nginx gracefully on its way out');
    const logs = await run('docker', ['logs', loopDies.id]);
    assert.match(logs.stderr, /the watch loop stopped; stopping nginx/);
  });
});
