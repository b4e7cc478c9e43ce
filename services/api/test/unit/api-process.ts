import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

// Helpers for tests that run the API's processes as the containers do: the server and the one-shot commands.

export const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
export const MIGRATE = fileURLToPath(new URL('../../src/cli/migrate.ts', import.meta.url));
/** Preload that makes the Infisical SDK unloadable: loadSettings then fails with no configuration problem. */
export const WITHOUT_INFISICAL_SDK = fileURLToPath(
  new URL('../../../../config/test/fixtures/without-infisical-sdk.ts', import.meta.url),
);

/** A scratch folder, removed when the test file ends; created on import, so the hook belongs to the file. */
export const SCRATCH = mkdtempSync(join(tmpdir(), 'pdpl-api-process-'));
after(() => rmSync(SCRATCH, { recursive: true, force: true }));
// Nothing in it: no developer's .env reaches the process.
const EMPTY = join(SCRATCH, 'empty');
mkdirSync(EMPTY);

export interface ProcessOptions {
  /** The working folder; an empty one when left out. */
  readonly cwd?: string;
  /** A module to `--import` after tsx, e.g. WITHOUT_INFISICAL_SDK. */
  readonly preload?: string;
}

export interface ApiProcess {
  readonly child: ReturnType<typeof spawn>;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Standard output and standard error together, as far as written. */
  output(): string;
}

/**
 * Starts a script of the API with only the given environment (and PATH). PostgreSQL and Redis default to port 1,
 * where nothing listens.
 */
export function startApiProcess(script: string, env: NodeJS.ProcessEnv, options: ProcessOptions = {}): ApiProcess {
  const isolated = { PATH: process.env.PATH, DATABASE_PORT: '1', REDIS_PORT: '1', ...env };
  // Run from an empty folder, tsx is then found by its full path.
  const preload = options.preload ? ['--import', options.preload] : [];
  const argv = ['--import', import.meta.resolve('tsx'), ...preload, script];
  const child = spawn(process.execPath, argv, { env: isolated, cwd: options.cwd ?? EMPTY });
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

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

export async function waitFor(condition: () => boolean, running: ApiProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (running.child.exitCode !== null) assert.fail(`the process exited early:\n${running.output()}`);
    if (Date.now() > deadline) assert.fail(`the process did not get there within 20 s:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails naming the first few characters of any value that appears in the output, never the whole value. */
export function assertNonePrinted(values: readonly string[], output: string): void {
  assert.ok(output.length > 0, 'the process printed nothing, so the test proves nothing');
  for (const value of values) {
    assert.ok(value.length >= 8, 'a short value could appear by chance');
    assert.ok(!output.includes(value), `the output contains ${value.slice(0, 8)}...`);
  }
}
