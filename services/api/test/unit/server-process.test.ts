import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The API as the container runs it: a process that refuses bad configuration and stops cleanly on SIGTERM.

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function startServer(env: NodeJS.ProcessEnv) {
  const isolated = { PATH: process.env.PATH, DATABASE_PORT: '1', REDIS_PORT: '1', ...env };
  // Run from an empty folder, so no developer's .env reaches the process; tsx is then found by its full path.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, SERVER], { env: isolated, cwd: tmpdir() });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output };
}

describe('API server process', () => {
  it('should exit 1 and list every problem when production settings are insecure', async () => {
    const server = startServer({ ENVIRONMENT: 'production', LOG_LEVEL: 'debug', JWT_SECRET: 'hunter2-secret' });

    const [code] = await server.exited;

    assert.equal(code, 1);
    assert.match(server.output(), /Invalid configuration, \d+ problems:/);
    assert.match(server.output(), /log\.level \(LOG_LEVEL\)/);
    assert.match(server.output(), /database\.host \(DATABASE_HOST\)/);
    assert.doesNotMatch(server.output(), /hunter2-secret/);
  });

  it('should print no secret, password or token at the most verbose log level', async () => {
    const secrets = {
      DATABASE_PASSWORD: 'db-secret-value-1a2b3c4d5e',
      REDIS_PASSWORD: 'redis-secret-value-6f7a8b9c',
      JWT_SECRET: 'jwt-secret-value-0d1e2f3a4b5c6d7e8f9a0b1c',
    };
    const port = await freePort();
    const server = startServer({ LOG_LEVEL: 'trace', PORT: String(port), HOST: '127.0.0.1', ...secrets });
    await waitFor(() => server.output().includes('Server listening'), server);
    const base = `http://127.0.0.1:${port}`;
    const password = 'typed-password-9z8y7x';
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';

    await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `refresh=${token}` },
      body: JSON.stringify({ email: 'ops@example.com', password }),
    });
    await fetch(`${base}/v1/me?token=${token}`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${base}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: token }),
    });
    await fetch(`${base}/health/ready`);
    server.child.kill('SIGTERM');
    await server.exited;

    assert.match(server.output(), /"msg":"incoming request"/, 'request logging was on');
    for (const value of [...Object.values(secrets), password, token]) {
      assert.ok(!server.output().includes(value), `the output contains ${value.slice(0, 12)}...`);
    }
  });

  it('should stop cleanly with exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const server = startServer({
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_PORT: '1',
      REDIS_PORT: '1',
    });
    await waitFor(() => server.output().includes('api listening'), server);
    const live = await fetch(`http://127.0.0.1:${port}/health/live`);

    server.child.kill('SIGTERM');
    const [code] = await server.exited;

    assert.equal(live.status, 200);
    assert.equal(code, 0, server.output());
    assert.match(server.output(), /"signal":"SIGTERM".*"msg":"shutting down"/);
  });
});

async function waitFor(condition: () => boolean, server: ReturnType<typeof startServer>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (server.child.exitCode !== null) assert.fail(`the server exited early:\n${server.output()}`);
    if (Date.now() > deadline) assert.fail(`the server did not start within 20 s:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
