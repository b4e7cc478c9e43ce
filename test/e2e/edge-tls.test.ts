import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureVersion } from 'node:tls';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { compose, copySecrets, e2eStack, https, REPO_ROOT, removeStack, startFresh } from './compose-stack.ts';

// The TLS edge on a running stack of its own (issue #6): protocols, headers, redirect, the internal listener, a
// recreated API and a renewed certificate picked up without restarting nginx, idle upstream connections, and
// the edge's own rate limit. Its secrets are a copy, so replacing the certificate touches no other stack.

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'pdpl-edge-'));
const secrets = copySecrets(join(work, 'secrets'));
const stack = e2eStack('pdpl-edge', 21080, 21443, {
  subnet: '172.30.86.0/24',
  // The rate-limit test sends a burst from the host: only the edge may be the one to answer it with 429.
  apiSettings: { RATE_LIMIT_MAX: '100000', RATE_LIMIT_AUTH_MAX: '1000' },
});
stack.env.PDPL_SECRETS_DIR = secrets;
const EMAIL = 'edge@example.com';
const PASSWORD = 'edge test password, long enough';
// nginx's upstream keepalive_timeout (nginx/conf.d/pdpl.conf).
const UPSTREAM_IDLE_S = 30;
const API_IMAGE = `pdpl/api:${JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')).version}`;

before(() => startFresh(stack, [EMAIL], PASSWORD));
after(async () => {
  await removeStack(stack);
  rmSync(work, { recursive: true, force: true });
});

async function containerOf(service: string): Promise<string> {
  const id = (await compose(stack, 'ps', '--quiet', service)).trim();
  assert.ok(id, `${service} has a container`);
  return id;
}

const inspect = async (id: string, format: string) =>
  (await run('docker', ['inspect', '--format', format, id])).stdout.trim();

/** The container's address on the stack's edge network. */
const edgeAddressOf = async (service: string) =>
  inspect(await containerOf(service), `{{(index .NetworkSettings.Networks "${stack.project}_edge").IPAddress}}`);

/** What says whether nginx was restarted: its container, when it started, and how often. */
const nginxLife = async () => inspect(await containerOf('nginx'), '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}');

/** A request to the internal listener from inside the nginx container (bash alone: the image has no curl). */
async function internal(path: string): Promise<string> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/8081 && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`;
  return compose(stack, 'exec', '-T', 'nginx', 'bash', '-c', script);
}

/** The edge's Prometheus page, as samples by name. */
async function metrics(): Promise<Record<string, number>> {
  const page = (await internal('/metrics')).split('\r\n\r\n')[1] ?? '';
  const samples = page.split('\n').filter((line) => line && !line.startsWith('#'));
  return Object.fromEntries(samples.map((line) => [line.split(' ')[0], Number(line.split(' ')[1])]));
}

/** Polls `check` until it returns a value, or fails after `seconds` with what it saw last. */
async function eventually<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = 'no value yet';
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${seconds} s (last: ${String(last)})`);
}

interface Handshake {
  readonly protocol: string | null;
  readonly certificate: X509Certificate;
  /** The application protocol agreed by ALPN, or false. */
  readonly alpn: string | false | null;
}

interface Offer {
  /** OpenSSL's cipher list for TLS 1.2 and below; every cipher the client library still has by default. */
  readonly ciphers?: string;
  readonly alpn?: string[];
}

/** A TLS handshake offering exactly one protocol version, and the ciphers and application protocols given. */
function handshake(port: number, version: SecureVersion, offer: Offer = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      minVersion: version,
      maxVersion: version,
      // OpenSSL 3 offers nothing below TLS 1.2 at its default security level.
      ciphers: offer.ciphers ?? 'DEFAULT@SECLEVEL=0',
      ...(offer.alpn ? { ALPNProtocols: offer.alpn } : {}),
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerX509Certificate();
      const protocol = socket.getProtocol();
      const alpn = socket.alpnProtocol;
      socket.destroy();
      if (!certificate) reject(new Error('no peer certificate'));
      else resolve({ protocol, certificate, alpn });
    });
    socket.once('error', reject);
  });
}

/** The stack's TCP connections from nginx to the API's port, by state, as nginx's container sees them. */
async function upstreamConnections(): Promise<{ established: number; timeWait: number }> {
  const table = await compose(stack, 'exec', '-T', 'nginx', 'cat', '/proc/net/tcp');
  const states = table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2]?.endsWith(':0BB8'))
    .map((fields) => fields[3]);
  return { established: states.filter((s) => s === '01').length, timeWait: states.filter((s) => s === '06').length };
}

describe('the TLS edge of a running stack', () => {
  it('should pass nginx -t on its configuration, inside the image', async () => {
    const { stderr } = await run('docker', ['exec', await containerOf('nginx'), 'nginx', '-t']);

    assert.match(stderr, /syntax is ok/);
    assert.match(stderr, /test is successful/);
  });

  it('should run every nginx process as an unprivileged user holding no capability', async () => {
    const script =
      'for s in /proc/[0-9]*/status; do grep -q "^Name:.nginx" "$s" && grep -E "^(Uid|Cap(Inh|Prm|Eff|Amb))" "$s"; done; true';
    const status = await compose(stack, 'exec', '-T', 'nginx', 'bash', '-c', script);

    const uids = [...status.matchAll(/^Uid:\s+(\d+)/gm)].map((match) => Number(match[1]));
    const capabilities = [...status.matchAll(/^Cap\w+:\s+(\w+)/gm)].map((match) => match[1]);
    assert.ok(uids.length >= 2, `a master and workers: ${status}`);
    assert.ok(
      uids.every((uid) => uid !== 0),
      `no root: ${uids}`,
    );
    assert.equal(capabilities.length, uids.length * 4);
    assert.ok(
      capabilities.every((set) => /^0+$/.test(set ?? '')),
      status,
    );
  });

  it('should refuse TLS 1.0 and 1.1 and accept 1.2 and 1.3, with a client that can speak 1.0 (the control)', async () => {
    const server = createTlsServer({
      cert: readFileSync(join(secrets, 'tls/server.crt')),
      key: readFileSync(join(secrets, 'tls/server.key')),
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    server.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const control = await handshake((server.address() as { port: number }).port, 'TLSv1');

      assert.equal(control.protocol, 'TLSv1');
    } finally {
      server.close();
    }

    await assert.rejects(handshake(stack.httpsPort, 'TLSv1'));
    await assert.rejects(handshake(stack.httpsPort, 'TLSv1.1'));
    assert.equal((await handshake(stack.httpsPort, 'TLSv1.2')).protocol, 'TLSv1.2');
    assert.equal((await handshake(stack.httpsPort, 'TLSv1.3')).protocol, 'TLSv1.3');
  });

  it('should refuse TLS 1.2 ciphers without forward secrecy or AEAD, which a lax server takes (the control)', async () => {
    // CBC suites, with and without an ephemeral key exchange, for an RSA or an ECDSA key alike.
    const weak = { ciphers: 'AES128-SHA:AES256-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA@SECLEVEL=0' };
    const strong = { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256' };
    const lax = createTlsServer({
      cert: readFileSync(join(secrets, 'tls/server.crt')),
      key: readFileSync(join(secrets, 'tls/server.key')),
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    lax.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => lax.listen(0, '127.0.0.1', resolve));
    try {
      const control = await handshake((lax.address() as { port: number }).port, 'TLSv1.2', weak);

      assert.equal(control.protocol, 'TLSv1.2');
    } finally {
      lax.close();
    }

    await assert.rejects(handshake(stack.httpsPort, 'TLSv1.2', weak));
    assert.equal((await handshake(stack.httpsPort, 'TLSv1.2', strong)).protocol, 'TLSv1.2');
  });

  it('should agree on HTTP/2 with a client that offers it, and serve the API over it', async () => {
    const offered = await handshake(stack.httpsPort, 'TLSv1.3', { alpn: ['h2', 'http/1.1'] });
    const onlyOld = await handshake(stack.httpsPort, 'TLSv1.3', { alpn: ['http/1.1'] });
    const session = http2Connect(`https://localhost:${stack.httpsPort}`, {
      ca: readFileSync(join(secrets, 'tls/ca.crt')),
    });
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = session.request({ ':method': 'GET', ':path': '/v1/me' });
        let body = '';
        let status = 0;
        request.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => {
          body += chunk;
        });
        request.on('end', () => resolve({ status, body }));
        request.on('error', reject);
        request.end();
      });

      assert.equal(offered.alpn, 'h2');
      assert.equal(onlyOld.alpn, 'http/1.1');
      assert.equal(answer.status, 401);
      assert.equal(JSON.parse(answer.body).error.code, 'AUTH_REQUIRED');
    } finally {
      session.close();
    }
  });

  it("should send HSTS and one request id with the API's security headers, and nginx's own answers too", async () => {
    const proxied = await https(stack, 'GET', '/v1/me');
    const own = await https(stack, 'GET', '/metrics');

    assert.equal(proxied.status, 401);
    assert.equal(JSON.parse(proxied.body).error.code, 'AUTH_REQUIRED');
    for (const answer of [proxied, own]) {
      const maxAge = /max-age=(\d+)/.exec(String(answer.headers['strict-transport-security']))?.[1];
      assert.ok(Number(maxAge) >= 31_536_000, `HSTS for a year at least: ${maxAge}`);
      assert.equal(answer.headers['x-request-id'], JSON.parse(answer.body).error.requestId);
    }
    assert.equal(proxied.headers['x-content-type-options'], 'nosniff');
    assert.equal(proxied.headers['x-frame-options'], 'DENY');
    assert.match(String(proxied.headers['content-security-policy']), /default-src 'none'/);
  });

  it('should answer /metrics and /health with 404 at the edge', async () => {
    for (const path of ['/metrics', '/health/ready', '/health/live']) {
      const answer = await https(stack, 'GET', path);

      assert.equal(answer.status, 404, path);
      assert.equal(JSON.parse(answer.body).error.code, 'NOT_FOUND', path);
    }
  });

  it('should answer /grafana/ with the catalogue 503 while the observability overlay is off, and serve the API', async () => {
    const grafana = await https(stack, 'GET', '/grafana/login');
    const api = await https(stack, 'GET', '/v1/me');

    assert.equal(grafana.status, 503);
    assert.equal(JSON.parse(grafana.body).error.code, 'SERVICE_UNAVAILABLE');
    assert.equal(api.status, 401, 'the API answers behind the same nginx');
  });

  it('should redirect plain HTTP to the configured origin, except ACME challenges', async () => {
    const redirect = await fetch(`http://127.0.0.1:${stack.httpPort}/v1/me`, { redirect: 'manual' });
    const challenge = await fetch(`http://127.0.0.1:${stack.httpPort}/.well-known/acme-challenge/no-such-token`, {
      redirect: 'manual',
    });

    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), `https://localhost:${stack.httpsPort}/v1/me`);
    assert.equal(challenge.status, 404, 'looked up in the challenge directory, not redirected');
  });

  it('should answer the internal listener inside the stack only, never from the host', async () => {
    const nginx = await edgeAddressOf('nginx');
    const fromApi = async (url: string) => {
      const script = `fetch(${JSON.stringify(url)}).then(async (r) => console.log(r.status, await r.text()))`;
      return compose(stack, 'exec', '-T', 'api', 'node', '-e', script);
    };
    const fromHost = (host: string) => fetch(`http://${host}:8081/nginx-health`).then((r) => r.status);

    const health = await internal('/nginx-health');
    const status = await internal('/nginx-status');
    const scraped = await fromApi('http://nginx:8081/metrics');

    assert.match(health, /^HTTP\/1\.1 200 /);
    assert.match(status, /Active connections: \d+/);
    assert.match(scraped, /^200 /);
    assert.match(scraped, /# TYPE pdpl_tls_certificate_not_after_timestamp_seconds gauge/);
    await assert.rejects(fromHost('127.0.0.1'), 'nothing published on the host');
    const ports = JSON.parse(await inspect(await containerOf('nginx'), '{{json .NetworkSettings.Ports}}'));
    assert.equal(ports['8081/tcp'], null, 'no published port for 8081');
    assert.ok(ports['8443/tcp'], 'the control: 8443 is published');
    assert.equal(await fromHost(nginx), 403, "the host reaches the container's address as its gateway: refused");
  });

  it('should report the served certificate dates for an alert', async () => {
    const served = (await handshake(stack.httpsPort, 'TLSv1.3')).certificate;

    const samples = await metrics();

    assert.equal(samples.pdpl_tls_certificate_not_after_timestamp_seconds, Date.parse(served.validTo) / 1000);
    assert.equal(samples.pdpl_tls_certificate_not_before_timestamp_seconds, Date.parse(served.validFrom) / 1000);
  });

  it('should close idle upstream connections before the API does, and serve the next request', async () => {
    const first = await https(stack, 'GET', '/v1/me');
    const kept = await upstreamConnections();

    await sleep((UPSTREAM_IDLE_S + 3) * 1000);
    const idle = await upstreamConnections();
    const next = await https(stack, 'GET', '/v1/me');

    assert.equal(first.status, 401);
    assert.ok(kept.established >= 1, 'the connection stays open for the next request');
    assert.equal(idle.established, 0, 'nginx let the idle connection go');
    // The side that closes a TCP connection first is the one left in TIME_WAIT: here, nginx.
    assert.ok(idle.timeWait >= 1, 'nginx, not the API, closed it');
    assert.equal(next.status, 401);
    assert.equal(JSON.parse(next.body).error.code, 'AUTH_REQUIRED', "the API's answer, not the edge's 503");
  });

  it('should find a recreated API at its new address within seconds, without restarting nginx', async () => {
    const before = { api: await edgeAddressOf('api'), nginx: await nginxLife(), reloads: await metrics() };

    // Docker gives a freed address to the next container that asks: a placeholder takes the old one, as any
    // container started meanwhile would, so the new API container lands elsewhere.
    await compose(stack, 'stop', 'api');
    const network = ['--network', `${stack.project}_edge`, '--ip', before.api];
    const placeholder = (await run('docker', ['run', '--detach', '--rm', ...network, API_IMAGE, 'sleep', '60'])).stdout;
    try {
      await compose(stack, 'up', '--detach', '--force-recreate', '--no-deps', '--wait', 'api');
    } finally {
      await run('docker', ['rm', '--force', placeholder.trim()]);
    }
    const healthyAt = Date.now();
    const served = await eventually('the API served through the edge', 10, async () => {
      const answer = await https(stack, 'GET', '/v1/me');
      return answer.status === 401 ? answer : undefined;
    });
    const waited = Date.now() - healthyAt;

    const address = await edgeAddressOf('api');
    assert.notEqual(address, before.api, 'the new container has a new address');
    assert.equal(JSON.parse(served.body).error.code, 'AUTH_REQUIRED');
    assert.ok(waited < 5000, `served ${waited} ms after the API was healthy`);
    assert.equal(await nginxLife(), before.nginx, 'the same nginx container, never restarted');
    const reloads = (await metrics()).pdpl_edge_reloads_total ?? 0;
    assert.ok(reloads > (before.reloads.pdpl_edge_reloads_total ?? 0), `reloaded: ${reloads}`);
    assert.match(await compose(stack, 'logs', 'nginx'), new RegExp(`reloaded nginx: API at ${address}`));
  });

  it('should serve a renewed certificate, written in place, without restarting nginx', async () => {
    const nginx = await nginxLife();
    const tls = join(secrets, 'tls');
    const next = join(work, 'renewed');
    const extensions = `${next}.ext`;
    writeFileSync(extensions, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${next}.key`]);
    await run('openssl', ['req', '-new', '-key', `${next}.key`, '-subj', '/CN=localhost', '-out', `${next}.csr`]);
    const sign = ['x509', '-req', '-in', `${next}.csr`, '-CA', join(tls, 'ca.crt'), '-CAkey', join(tls, 'ca.key')];
    await run('openssl', [...sign, '-days', '45', '-extfile', extensions, '-out', `${next}.crt`]);
    const renewed = new X509Certificate(readFileSync(`${next}.crt`));

    // Same inodes: compose bind-mounts each secret file, and a mount keeps the inode it was given.
    writeFileSync(join(tls, 'server.key'), readFileSync(`${next}.key`));
    writeFileSync(join(tls, 'server.crt'), readFileSync(`${next}.crt`));
    const served = await eventually('the renewed certificate served', 10, async () => {
      const { certificate } = await handshake(stack.httpsPort, 'TLSv1.3');
      return certificate.fingerprint256 === renewed.fingerprint256 ? certificate : undefined;
    });

    assert.equal(served.validTo, renewed.validTo);
    assert.equal((await https(stack, 'GET', '/v1/me')).status, 401, 'the CA still verifies it');
    assert.equal(await nginxLife(), nginx, 'the same nginx container, never restarted');
    const samples = await eventually('the metrics of the renewed certificate', 5, async () => {
      const now = await metrics();
      return now.pdpl_tls_certificate_not_after_timestamp_seconds === Date.parse(renewed.validTo) / 1000
        ? now
        : undefined;
    });
    assert.equal(samples.pdpl_tls_certificate_not_before_timestamp_seconds, Date.parse(renewed.validFrom) / 1000);
  });

  it('should not compress the auth answers, which carry tokens (BREACH)', async () => {
    const extra = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`unknown_field_${i}`, i]));
    const answer = await https(stack, 'POST', '/v1/auth/login', {
      body: { email: EMAIL, password: PASSWORD, ...extra },
      headers: { 'accept-encoding': 'gzip' },
    });

    assert.equal(answer.status, 400);
    assert.ok(answer.body.length > 1024, `large enough to be compressed elsewhere: ${answer.body.length} bytes`);
    assert.equal(answer.headers['content-encoding'], undefined);
  });

  // Last: it spends the host's edge budget on the auth paths (refilled within ten seconds).
  it('should answer a burst on the auth paths at the edge with the catalogue 429 and Retry-After', async () => {
    const burst = Array.from({ length: 250 }, () => https(stack, 'GET', '/v1/auth/no-such-route'));
    const answers = await Promise.all(burst);

    const limited = answers.filter((answer) => answer.status === 429);
    assert.ok(limited.length > 0, 'some of the burst is refused');
    assert.ok(answers.length - limited.length >= 100, 'the burst allowance is served');
    for (const answer of limited) {
      assert.equal(JSON.parse(answer.body).error.code, 'RATE_LIMITED');
      assert.equal(JSON.parse(answer.body).error.requestId, answer.headers['x-request-id']);
      assert.ok(Number(answer.headers['retry-after']) >= 1);
      assert.match(String(answer.headers['strict-transport-security']), /max-age=/);
      // Every answer of the API carries its CSP: these never reached it.
      assert.equal(answer.headers['content-security-policy'], undefined);
    }
  });
});
