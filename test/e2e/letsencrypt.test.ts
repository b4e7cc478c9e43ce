import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import {
  compose,
  copySecrets,
  e2eStack,
  networkVariables,
  npmScript,
  REPO_ROOT,
  removeStack,
  startFresh,
} from './compose-stack.ts';

// compose/letsencrypt.yml end to end (issue #6), against Pebble, Let's Encrypt's ACME test server, run as a
// service of the test's own project (test/e2e/pebble/compose.yml): the first issuance by HTTP-01 through nginx, a
// forced renewal served without restarting nginx, and the settings that are refused.

const run = promisify(execFile);
// Near the 64 characters a certificate's common name may hold, as a real host's name can be: nothing may be added.
const HOST = 'the-public-name-of-this-edge.for-a-long-domain.acme.pdpl.test';
const VERSION = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')).version;
const CERTBOT_IMAGE = `pdpl/certbot:${VERSION}`;
const LETSENCRYPT_FILES = ['docker-compose.yml', 'compose/production.yml', 'compose/letsencrypt.yml'];
const work = mkdtempSync(join(tmpdir(), 'pdpl-letsencrypt-'));
const stack = e2eStack('pdpl-letsencrypt', 23080, 23443, {
  subnet: '172.30.88.0/24',
  // The renewal test asks ten times a second: only a failing edge may make an answer other than the API's 401.
  apiSettings: { RATE_LIMIT_MAX: '100000' },
});
Object.assign(stack.env, {
  COMPOSE_FILE: [...LETSENCRYPT_FILES, 'test/e2e/pebble/compose.yml'].join(':'),
  PDPL_PUBLIC_HOST: HOST,
  PDPL_ACME_EMAIL: 'ops@pdpl.test',
  PDPL_ACME_SERVER: 'https://pebble:14000/dir',
  // make-tls-certs.sh signs the local edge pair for the host too: in a copy, never in the shared directory.
  PDPL_SECRETS_DIR: copySecrets(join(work, 'secrets')),
});

/** The root Pebble issues from, new at each start, from its management port (over Pebble's own TLS CA). */
let pebbleRoot: string;

before(async () => {
  await startFresh(stack, [], '');
  const trust = await compose(stack, 'exec', '-T', 'pebble', 'cat', '/etc/pebble/trust/ca.crt');
  const port = Number((await compose(stack, 'port', 'pebble', '15000')).trim().split(':').at(-1));
  pebbleRoot = (await get({ host: '127.0.0.1', port, path: '/roots/0', ca: trust })).body;
});

after(async () => {
  await removeStack(stack);
  rmSync(work, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

function get(options: { host: string; port: number; path: string; ca: string; servername?: string }) {
  return new Promise<Answer>((resolve, reject) => {
    // A new connection, so a new handshake, each time: every answer shows the certificate served at that moment.
    const req = request({ ...options, agent: false, headers: { host: options.servername ?? options.host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request to the API through the edge, as a client of the public name that trusts Pebble's root alone. */
const throughEdge = () =>
  get({ host: '127.0.0.1', port: stack.httpsPort, path: '/v1/me', ca: pebbleRoot, servername: HOST });

/** The leaf nginx serves, after a handshake that verified the chain to Pebble's root and the name. */
function servedCertificate(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: stack.httpsPort, servername: HOST, ca: pebbleRoot });
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerX509Certificate();
      socket.destroy();
      if (certificate) resolve(certificate);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

const inspect = async (service: string, format: string) => {
  const id = (await compose(stack, 'ps', '--quiet', service)).trim();
  return (await run('docker', ['inspect', '--format', format, id])).stdout.trim();
};

/** What says whether nginx was restarted: its container, when it started, how often, and its master's PID. */
const nginxLife = () => inspect('nginx', '{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Pid}}');

/** The edge's Prometheus page on its internal listener, as samples by name. */
async function metrics(): Promise<Record<string, number>> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/8081 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`;
  const page = (await compose(stack, 'exec', '-T', 'nginx', 'bash', '-c', script)).split('\r\n\r\n')[1] ?? '';
  const samples = page.split('\n').filter((line) => line && !line.startsWith('#'));
  return Object.fromEntries(samples.map((line) => [line.split(' ')[0], Number(line.split(' ')[1])]));
}

/** Polls `check` until it returns a value, or fails after `seconds` with what it saw last. */
async function eventually<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown = 'no value yet';
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${seconds} s (last: ${String(last)})`);
}

/** A command's exit code and output, whatever they are. */
async function outcome(command: Promise<string | { stdout: string; stderr: string }>) {
  try {
    const result = await command;
    return { code: 0, output: typeof result === 'string' ? result : result.stdout + result.stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe("the Let's Encrypt overlay against Pebble", () => {
  it("should serve the first certificate, for the public name and chained to the CA's root", async () => {
    const served = await servedCertificate();
    const answer = await throughEdge();
    const init = await compose(stack, 'logs', '--no-log-prefix', 'edge-tls-init');

    assert.ok(served.checkHost(HOST), `issued for ${HOST}: ${served.subjectAltName}`);
    assert.match(served.issuer, /Pebble Intermediate CA/, 'from the CA, no longer the placeholder');
    assert.equal(answer.status, 401, 'the API answers behind it');
    assert.equal(JSON.parse(answer.body).error.code, 'AUTH_REQUIRED');
    assert.match(init, /self-signed placeholder/, 'nginx started on the placeholder, before the first issuance');
    assert.ok(((await metrics()).pdpl_edge_reloads_total ?? 0) >= 1, 'and reloaded when the certificate came');
  });

  it('should give nginx the key through its secrets group, mode 0640, and no way to write the volumes', async () => {
    const stat = await compose(stack, 'exec', '-T', 'nginx', 'stat', '-c', '%a %g', '/run/edge-tls/server.key');
    const write = await outcome(compose(stack, 'exec', '-T', 'nginx', 'touch', '/run/edge-tls/x', '/var/www/acme/x'));
    const account = await outcome(compose(stack, 'exec', '-T', 'nginx', 'ls', '/etc/letsencrypt'));

    assert.equal(stat.trim(), `640 ${process.env.PDPL_SECRETS_GID ?? 10001}`);
    assert.notEqual(write.code, 0, 'read-only mounts');
    assert.match(write.output, /Read-only file system/);
    assert.notEqual(account.code, 0, "certbot's account and keys are not nginx's to see");
  });

  it('should serve a renewed certificate without restarting nginx, answering every request meanwhile', async () => {
    const life = await nginxLife();
    const first = await servedCertificate();
    const statuses: (number | string)[] = [];
    let renewing = true;
    const traffic = (async () => {
      while (renewing) {
        statuses.push(
          await throughEdge().then(
            (answer) => answer.status,
            (error: Error) => error.message,
          ),
        );
        await sleep(100);
      }
    })();

    // Without a terminal, certbot renew first sleeps up to 8 minutes, to spread the CA's load.
    await compose(stack, 'exec', '-T', 'certbot', 'certbot', 'renew', '--force-renewal', '--no-random-sleep-on-renew');
    const renewed = await eventually('the renewed certificate served', 15, async () => {
      const served = await servedCertificate();
      return served.serialNumber === first.serialNumber ? undefined : served;
    });
    await sleep(2000);
    renewing = false;
    await traffic;

    assert.ok(renewed.checkHost(HOST));
    assert.notEqual(renewed.fingerprint256, first.fingerprint256);
    assert.ok(statuses.length >= 10, `requests kept coming: ${statuses.length}`);
    assert.deepEqual(new Set(statuses), new Set([401]), 'every request was answered by the API');
    assert.equal(await nginxLife(), life, 'the same nginx container and master process, never restarted');
    const log = await compose(stack, 'logs', '--no-log-prefix', 'nginx');
    const challenges = log
      .split('\n')
      .filter((line) => /"path":"\/\.well-known\/acme-challenge\/[^"]+","status":200/.test(line));
    assert.ok(challenges.length >= 2, `the renewal was validated through nginx's webroot too: ${challenges.length}`);
    const samples = await metrics();
    assert.equal(samples.pdpl_tls_certificate_not_after_timestamp_seconds, Date.parse(renewed.validTo) / 1000);
    const health = await inspect('certbot', '{{.State.Health.Status}}');
    assert.equal(health, 'healthy', "certbot's healthcheck: nginx has the lineage's current pair");
  });

  it('should keep the certificate when certbot restarts, for it is not due: no request spent at the CA', async () => {
    const before = await servedCertificate();
    const since = new Date().toISOString();

    await compose(stack, 'restart', 'certbot');
    const log = await eventually('the first round after the restart', 60, async () => {
      const lines = await compose(stack, 'logs', '--no-log-prefix', '--since', since, 'certbot');
      return /not yet due for renewal/.test(lines) ? lines : undefined;
    });

    assert.doesNotMatch(log, /Requesting a certificate/);
    assert.equal((await servedCertificate()).serialNumber, before.serialNumber);
  });

  it('should replace the certificate at once when the CA changes, as from staging to production', async () => {
    const life = await nginxLife();
    const before = await servedCertificate();
    const production = { ...stack, env: { ...stack.env, PDPL_ACME_SERVER: 'https://pebble-production:14000/dir' } };

    await compose(production, 'up', '--detach', '--wait', 'certbot');
    const replaced = await eventually('the certificate of the new CA served', 30, async () => {
      const served = await servedCertificate();
      return served.serialNumber === before.serialNumber ? undefined : served;
    });

    assert.ok(replaced.checkHost(HOST));
    const log = await compose(stack, 'logs', '--no-log-prefix', 'certbot');
    assert.match(log, /the certificate comes from https:\/\/pebble:14000\/dir, the configured CA is/);
    assert.match(log, /the configured CA is https:\/\/pebble-production:14000\/dir: replacing it/);
    assert.equal(await nginxLife(), life, 'nginx was neither recreated nor restarted');
  });
});

describe('the settings the overlay refuses', () => {
  const without = (...names: string[]) =>
    Object.fromEntries(Object.entries(stack.env).filter(([name]) => !names.includes(name)));

  it('should stop npm run up without a contact email, by name and before any change', async () => {
    const env = { ...without('PDPL_ACME_EMAIL'), COMPOSE_PROJECT_NAME: 'pdpl-letsencrypt-unset' };

    const up = await outcome(npmScript({ ...stack, project: 'pdpl-letsencrypt-unset', env }, 'up'));

    assert.notEqual(up.code, 0);
    assert.match(up.output, /required variable PDPL_ACME_EMAIL is missing a value: set PDPL_ACME_EMAIL/);
    assert.match(up.output, /nothing was changed/);
    const label = 'label=com.docker.compose.project=pdpl-letsencrypt-unset';
    assert.equal((await run('docker', ['ps', '--all', '--quiet', '--filter', label])).stdout.trim(), '');
  });

  it('should stop npm run up on a host that is no public DNS name, by name, before any service starts', async () => {
    const project = 'pdpl-letsencrypt-badhost';
    // Ranges of its own: the check makes the project's networks while this file's stack is still up.
    const env = {
      ...stack.env,
      ...networkVariables('172.30.89.0/24'),
      PDPL_PUBLIC_HOST: 'localhost',
      COMPOSE_PROJECT_NAME: project,
    };
    try {
      const up = await outcome(npmScript({ ...stack, project, env }, 'up'));

      assert.notEqual(up.code, 0);
      assert.match(up.output, /FAIL: PUBLIC_HOST must be a public DNS name such as api\.example\.vn, got: localhost/);
      assert.match(up.output, /PUBLIC_HOST is PDPL_PUBLIC_HOST.*nothing was started or replaced/s);
      const label = `label=com.docker.compose.project=${project}`;
      assert.equal((await run('docker', ['ps', '--all', '--quiet', '--filter', label])).stdout.trim(), '');
    } finally {
      await compose({ ...stack, project, env }, 'down', '--volumes', '--remove-orphans');
    }
  });

  it('should refuse the overlay without a public host name, even without the production overlay', async () => {
    const env = { ...without('PDPL_PUBLIC_HOST'), COMPOSE_FILE: 'docker-compose.yml:compose/letsencrypt.yml' };

    const config = await outcome(run('docker', ['compose', 'config', '--quiet'], { cwd: REPO_ROOT, env }));

    assert.notEqual(config.code, 0);
    assert.match(config.output, /required variable PDPL_PUBLIC_HOST is missing a value/);
  });

  it('should name every missing setting at once when the image runs without them', async () => {
    const bare = await outcome(run('docker', ['run', '--rm', CERTBOT_IMAGE]));

    assert.equal(bare.code, 1);
    assert.match(bare.output, /FAIL: PUBLIC_HOST is not set.*PDPL_PUBLIC_HOST/);
    assert.match(bare.output, /FAIL: ACME_EMAIL is not set.*PDPL_ACME_EMAIL/);
    assert.match(bare.output, /FAIL: EDGE_TLS_GID must be the numeric group/);
  });

  it('should refuse a host that is no public DNS name, an address that is no email, and two CAs', async () => {
    const settings = [
      'PUBLIC_HOST=localhost',
      'ACME_EMAIL=ops',
      'ACME_STAGING=true',
      'ACME_SERVER=https://ca.test/dir',
    ];
    const env = [...settings, 'EDGE_TLS_GID=10001'].flatMap((setting) => ['--env', setting]);

    const refused = await outcome(run('docker', ['run', '--rm', '--group-add', '10001', ...env, CERTBOT_IMAGE]));

    assert.equal(refused.code, 1);
    assert.match(
      refused.output,
      /FAIL: PUBLIC_HOST must be a public DNS name such as api\.example\.vn, got: localhost/,
    );
    assert.match(refused.output, /FAIL: ACME_EMAIL must be an email address, got: ops/);
    assert.match(refused.output, /FAIL: ACME_SERVER and ACME_STAGING=true are both set; choose one/);
    assert.doesNotMatch(refused.output, /EDGE_TLS_GID/);
  });
});
