import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { copySecrets, networkVariables, REPO_ROOT } from './compose-stack.ts';

// `npm run config:check -- --compose` judges the secret files only the data services read, then the api service
// exactly as docker-compose.yml would boot it: production rules, Docker secrets, inside the api image.

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'pdpl-config-check-'));
after(async () => {
  rmSync(scratch, { recursive: true, force: true });
  // `compose run` creates the project's network and volumes even with --no-deps.
  await run('docker', ['compose', '-p', 'pdpl-config-check', 'down', '--volumes'], { cwd: REPO_ROOT });
});

function configCheck(env: NodeJS.ProcessEnv = {}) {
  return run('npm', ['run', '--silent', 'config:check', '--', '--compose', '--json'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      COMPOSE_PROJECT_NAME: 'pdpl-config-check',
      ...networkVariables('172.30.82.0/24'),
      ...env,
    },
  });
}

/** config:check with an api.env of these lines, which must fail: its exit code and what it printed. */
async function refusedEnvFile(lines: string): Promise<{ code?: number; stderr?: string }> {
  const envFile = join(scratch, 'api.env');
  writeFileSync(envFile, lines);
  return configCheck({ PDPL_API_ENV_FILE: envFile }).then(
    () => assert.fail('expected config:check to fail'),
    (error: { code?: number; stderr?: string }) => error,
  );
}

describe('config:check on the production compose service', () => {
  it('should pass with the generated secrets', async () => {
    const { stdout } = await configCheck();

    assert.deepEqual(JSON.parse(stdout), { valid: true, environment: 'production', problems: [] });
  });

  it('should fail with exit 1, naming the setting and not the value, when a secret is a placeholder', async () => {
    const weak = copySecrets(join(scratch, 'secrets'));
    writeFileSync(join(weak, 'jwt_secret'), 'changeme-changeme-changeme-changeme');

    const failure = await configCheck({ PDPL_SECRETS_DIR: weak }).then(
      () => assert.fail('expected config:check to fail'),
      (error: { code?: number; stdout?: string }) => error,
    );

    assert.equal(failure.code, 1);
    const report = JSON.parse(String(failure.stdout));
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.problems.map((problem: { env: string; message: string }) => `${problem.env}: ${problem.message}`),
      ['JWT_SECRET: looks like a placeholder or a word'],
    );
    assert.doesNotMatch(String(failure.stdout), /changeme-changeme/);
  });

  it('should fail with exit 1, before the api image runs, for a weak password only PostgreSQL reads', async () => {
    const weak = copySecrets(join(scratch, 'weak-superuser'));
    writeFileSync(join(weak, 'postgres_superuser_password'), 'changeme-postgres-2026');

    const failure = await configCheck({ PDPL_SECRETS_DIR: weak }).then(
      () => assert.fail('expected config:check to fail'),
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );

    assert.equal(failure.code, 1);
    assert.match(String(failure.stderr), /postgres_superuser_password looks like a placeholder or a word/);
    assert.doesNotMatch(`${failure.stdout}${failure.stderr}`, /changeme-postgres/);
  });

  it('should refuse an api.env line that sets nothing, naming the likely intended setting', async () => {
    const failure = await refusedEnvFile('CORS_ALLOWED_ORIGIN=https://app.example.vn\n');

    assert.equal(failure.code, 1);
    assert.match(String(failure.stderr), /api\.env line 1 \(CORS_ALLOWED_ORIGIN\): is not a setting/);
    assert.match(String(failure.stderr), /use CORS_ALLOWED_ORIGINS, if that is what was meant/);
  });

  it('should refuse api.env lines for settings the compose files set themselves, which would be ignored', async () => {
    const lines = 'RATE_LIMIT_MAX=600\nLOG_LEVEL=error\nJWT_SECRET=a-secret-in-the-wrong-place-0123456789\n';

    const failure = await refusedEnvFile(lines);

    assert.equal(failure.code, 1);
    assert.match(String(failure.stderr), /has 2 line\(s\) that set nothing/);
    assert.match(
      String(failure.stderr),
      /api\.env line 2 \(LOG_LEVEL\): is set to warn by the compose files, which win/,
    );
    assert.match(
      String(failure.stderr),
      /api\.env line 3 \(JWT_SECRET\): is read from the secret file .* JWT_SECRET_FILE/,
    );
    assert.doesNotMatch(String(failure.stderr), /a-secret-in-the-wrong-place/);
  });
});
