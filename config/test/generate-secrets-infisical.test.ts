import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeInfisical } from './fixtures/fake-infisical.ts';

// `secrets:generate --infisical`: the API's secrets go into Infisical with the values of the secret files, which
// PostgreSQL and Redis read, so the two never disagree. Against a local server that answers the SDK's calls.

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/generate-secrets.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pdpl-generate-infisical-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CLIENT_SECRET = 'writer-client-secret-0123456789';
const IDENTITY = { clientId: 'secrets-writer', clientSecret: CLIENT_SECRET, projectId: 'pdpl', environment: 'prod' };
const API_SECRETS = {
  DATABASE_PASSWORD: 'postgres_app_password',
  REDIS_PASSWORD: 'redis_password',
  JWT_SECRET: 'jwt_secret',
  JWT_PREVIOUS_SECRET: 'jwt_previous_secret',
};

const fakes: FakeInfisical[] = [];
afterEach(() => Promise.all(fakes.splice(0).map((fake) => fake.close())));

let count = 0;
async function setUp(secrets: Record<string, string> = {}) {
  const fake = await FakeInfisical.start({ ...IDENTITY, secrets });
  fakes.push(fake);
  const dir = join(root, `secrets-${++count}`);
  const clientSecretFile = join(root, `client-secret-${count}`);
  writeFileSync(clientSecretFile, CLIENT_SECRET, { mode: 0o600 });
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    PDPL_SECRETS_GID: '10001',
    ...fake.environmentFor(clientSecretFile),
  };
  const generate = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', CLI, '--dir', dir, '--infisical', ...args], { env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        stdout: String(error.stdout),
        stderr: String(error.stderr),
      }),
    );
  const file = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { fake, dir, env, generate, file };
}

describe('secrets:generate --infisical', () => {
  it("should put the API's secrets into Infisical with the files' values, printing names only", async () => {
    const { fake, generate, file } = await setUp();

    const outcome = await generate();

    assert.equal(outcome.code, 0, outcome.stderr);
    for (const [variable, secretFile] of Object.entries(API_SECRETS)) {
      assert.equal(fake.secrets.get(variable), file(secretFile), variable);
      assert.match(outcome.stdout, new RegExp(`^${variable} \\(Infisical\\)$`, 'm'));
      assert.ok(!(outcome.stdout + outcome.stderr).includes(file(secretFile)), 'no value is printed');
    }
    assert.equal(fake.secrets.size, 4, 'the data services own passwords stay in files only');
  });

  it('should change nothing on a second run', async () => {
    const { fake, generate } = await setUp();
    await generate();
    const writes = fake.writes.length;

    const again = await generate();

    assert.equal(again.code, 0, again.stderr);
    assert.equal(fake.writes.length, writes);
    assert.equal(again.stdout, '');
  });

  it('should refuse, naming the key and not the value, when Infisical holds another value; --force fixes it', async () => {
    const stale = 'a-stale-value-somebody-typed-in-0123456789';
    const { fake, generate, file } = await setUp({ JWT_SECRET: stale });

    const refused = await generate();
    const filesBefore = Object.values(API_SECRETS).map(file);
    const forced = await generate('--force');

    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /FAIL: Infisical.s JWT_SECRET differs from the secret files .* --force/);
    assert.ok(!refused.stderr.includes(stale) && !refused.stderr.includes(file('jwt_secret')), 'no value printed');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^JWT_SECRET \(Infisical, replaced\)$/m);
    assert.equal(fake.secrets.get('JWT_SECRET'), file('jwt_secret'));
    // The files are the source: --force with --infisical redraws none of them.
    assert.deepEqual(Object.values(API_SECRETS).map(file), filesBefore);
    assert.equal(forced.stdout, 'JWT_SECRET (Infisical, replaced)\n');
  });

  it('should name the missing coordinates instead of guessing where to write', async () => {
    const { generate, env } = await setUp();
    delete env.INFISICAL_PROJECT_ID;
    env.SECRETS_PROVIDER = 'file';

    const outcome = await generate();

    assert.equal(outcome.code, 1);
    assert.match(
      outcome.stderr,
      /FAIL: --infisical needs where to write: set SECRETS_PROVIDER=infisical, INFISICAL_PROJECT_ID/,
    );
  });

  it('should say which permission the identity lacks when Infisical refuses the write', async () => {
    const { fake, generate } = await setUp();
    fake.writeStatus = 403;

    const outcome = await generate();

    assert.equal(outcome.code, 1);
    assert.match(
      outcome.stderr,
      /does not let client id secrets-writer write DATABASE_PASSWORD \(403\)\. Fix: .*create and edit/,
    );
    assert.ok(!outcome.stderr.includes(CLIENT_SECRET), 'the client secret is never printed');
  });
});
