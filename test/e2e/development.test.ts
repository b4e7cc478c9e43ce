import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { REPO_ROOT } from './compose-stack.ts';

// `npm run dev` as a developer runs it, with nothing configured: the data services in a compose project of their
// own, published on loopback, and the API from the sources on this machine (issue #3: development works with zero
// configuration against the local compose stack). Ports and ranges of its own, so a developer's `npm run dev` or a
// stack from `npm run up` on the same machine is left alone.

const run = promisify(execFile);
const PROJECT = 'pdpl-dev-test';
const API = 'http://127.0.0.1:23000';
const EMAIL = 'developer@example.com';
const PASSWORD = 'development password 1';
// No variable of the platform's own: only what makes this run one of its own.
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(COMPOSE_|PDPL_)/.test(name))),
  PDPL_DEV_PROJECT: PROJECT,
  PDPL_DEV_API_PORT: '23000',
  PDPL_DEV_POSTGRES_PORT: '23432',
  PDPL_DEV_REDIS_PORT: '23379',
  PDPL_DEV_DATA_SUBNET: '172.30.82.128/25',
  PDPL_DEV_EDGE_SUBNET: '172.30.82.64/26',
  PDPL_DEV_SUBNET: '172.30.82.0/28',
};

let dev: ChildProcess;
let output = '';

async function removeProject(): Promise<void> {
  await run('docker', ['compose', '--project-name', PROJECT, 'down', '--volumes', '--remove-orphans'], {
    cwd: REPO_ROOT,
  });
}

/** `npm run dev -- ARGS` to its end, with `input` on its standard input. */
async function devCommand(args: string[], input = ''): Promise<string> {
  const child = run('npm', ['run', '--silent', 'dev', '--', ...args], { cwd: REPO_ROOT, env: ENV });
  child.child.stdin?.end(input);
  return (await child).stdout + (await child).stderr;
}

async function apiAnswers(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${API}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
}

before(async () => {
  await removeProject();
  // A process group of its own: the API under `tsx watch` is a grandchild, and stops with the group.
  dev = spawn('npm', ['run', 'dev'], { cwd: REPO_ROOT, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [dev.stdout, dev.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  }
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && dev.exitCode === null) {
    const ready = await apiAnswers('/health/ready').catch(() => undefined);
    if (ready?.ok) return;
    await sleep(1_000);
  }
  throw new Error(`npm run dev did not serve /health/ready (exit ${dev.exitCode}):\n${output.slice(-3_000)}`);
});

after(async () => {
  if (dev?.pid && dev.exitCode === null) {
    process.kill(-dev.pid, 'SIGTERM');
    await once(dev, 'exit');
  }
  await devCommand(['down']);
  await removeProject();
});

describe('npm run dev', () => {
  it('should serve the API from the sources, ready against the development database and Redis', async () => {
    const ready = await apiAnswers('/health/ready');

    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', postgres: 'up', redis: 'up' });
    assert.match(output, /"environment":"development"/);
  });

  it('should create a user with `npm run dev -- user:create`, who can then log in', async () => {
    const created = await devCommand(['user:create', '--email', EMAIL], `${PASSWORD}\n`);

    const login = await apiAnswers('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD, refreshTransport: 'body' }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await apiAnswers('/v1/me', { headers: { authorization: `Bearer ${accessToken}` } });

    assert.match(created, new RegExp(`created ${EMAIL}`));
    assert.equal(login.status, 200);
    assert.equal(((await me.json()) as { email: string }).email, EMAIL);
  });

  it("should publish PostgreSQL and Redis on this machine's loopback only", async () => {
    const { stdout } = await run('docker', ['compose', '--project-name', PROJECT, 'ps', '--format', 'json'], {
      cwd: REPO_ROOT,
    });
    const published = stdout
      .trim()
      .split('\n')
      .flatMap((line) => {
        const container = JSON.parse(line) as { Service: string; Publishers: { URL: string; PublishedPort: number }[] };
        return container.Publishers.filter(({ PublishedPort }) => PublishedPort > 0).map(
          ({ URL, PublishedPort }) => `${container.Service} ${URL}:${PublishedPort}`,
        );
      });

    assert.deepEqual(published.sort(), ['postgres 127.0.0.1:23432', 'redis 127.0.0.1:23379']);
  });

  it('should refuse an unknown command with its usage and exit 64', async () => {
    const refused = await devCommand(['deploy']).then(
      () => assert.fail('npm run dev -- deploy succeeded'),
      (error: { code: number; stderr: string }) => error,
    );

    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /usage: npm run dev/);
  });
});
