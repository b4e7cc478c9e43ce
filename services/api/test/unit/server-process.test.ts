import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
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
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { env: { PATH: process.env.PATH, ...env } });
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
