import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAULT_TEXT } from '../../../../config/test/fixtures/without-infisical-sdk.ts';
import { freePort, SCRATCH, SERVER, startApiProcess, WITHOUT_INFISICAL_SDK, waitFor } from './api-process.ts';

// The API as the container runs it: a process that refuses bad configuration with exit 1, fails any other way with
// exit 2, and stops cleanly on SIGTERM. What it prints is tested in server-redaction.test.ts.

const startServer = (env: NodeJS.ProcessEnv, options = {}) => startApiProcess(SERVER, env, options);

const INFISICAL = {
  SECRETS_PROVIDER: 'infisical',
  INFISICAL_SITE_URL: 'http://127.0.0.1:9',
  INFISICAL_CLIENT_ID: 'api-identity',
  INFISICAL_CLIENT_SECRET: 'client-secret-value-7f6e5d4c',
  INFISICAL_PROJECT_ID: 'project-1',
};

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

  it('should exit 1 with the one report when the .env file cannot be read', async () => {
    const folder = join(SCRATCH, 'unreadable-dotenv');
    // A folder where the file should be fails to read for root too, unlike a mode of 000.
    mkdirSync(join(folder, '.env'), { recursive: true });

    const server = startServer({}, { cwd: folder });
    const [code] = await server.exited;

    assert.equal(code, 1, server.output());
    assert.equal(
      server.output(),
      'Invalid configuration, 1 problem:\n' +
        `- (.env file) (.env): ${join(folder, '.env')} cannot be read (EISDIR). ` +
        'Fix: make it a file this user may read, or remove it (only development reads it).\n',
    );
  });

  it('should exit 1 naming INFISICAL_SITE_URL when it holds a password, without printing it', async () => {
    const password = 'url-password-1a2b3c4d';
    const server = startServer({ ...INFISICAL, INFISICAL_SITE_URL: `http://ops:${password}@127.0.0.1:9` });

    const [code] = await server.exited;

    assert.equal(code, 1, server.output());
    assert.match(
      server.output(),
      /^- secrets\.infisical\.siteUrl \(INFISICAL_SITE_URL\): holds a user name or password\. Fix: .*INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET_FILE\.$/m,
    );
    assert.ok(!server.output().includes(password), 'the output contains the password');
    assert.ok(!server.output().includes(INFISICAL.INFISICAL_CLIENT_SECRET), 'the output contains the client secret');
  });

  it('should exit 2 with one line naming what failed when loading fails for another reason', async () => {
    const server = startServer(INFISICAL, { preload: WITHOUT_INFISICAL_SDK });

    const [code] = await server.exited;

    assert.equal(code, 2, server.output());
    assert.equal(
      server.output(),
      'api: FAIL: loading the settings failed with Error [ERR_MODULE_NOT_FOUND], which is no configuration problem ' +
        '(its message is withheld: it may quote a secret)\n',
    );
    assert.ok(!server.output().includes(FAULT_TEXT), "the output quotes the error's message");
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
