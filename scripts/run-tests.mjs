// Runs the test suites with Node's test runner: `npm test` runs all of them; `npm test -- unit` (or integration,
// e2e) runs one. Integration and end-to-end suites need the Docker engine and the images, made here first.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SUITES = {
  unit: ['config/test', 'services/api/test/unit', 'test/scripts', 'test/compose', 'test/bench'],
  // test/observability builds and runs the Prometheus image.
  integration: ['services/api/test/integration', 'test/observability'],
  e2e: ['test/e2e'],
  security: ['test/security'],
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in SUITES));
if (unknown.length) {
  console.error(`run-tests: unknown suite ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}`);
  process.exit(64);
}
const suites = requested.length ? requested : Object.keys(SUITES);

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join(dir, name))
    .sort();
}

// A fresh clone has no dependencies yet: install exactly what the lockfile says, so `npm test` works on its own.
if (!existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund']);
run('npx', ['tsc', '-b', 'services/api']);
if (suites.some((suite) => suite !== 'unit')) run('bash', ['scripts/prepare.sh']);

const files = suites.flatMap((suite) => SUITES[suite].flatMap(testFiles));
const env = {
  ...process.env,
  // The reaper image cannot be pulled without a registry: every test stops what it starts instead.
  TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? 'true',
  // Reach containers through ports published on loopback, also where the host itself looks like a container.
  TESTCONTAINERS_HOST_OVERRIDE: process.env.TESTCONTAINERS_HOST_OVERRIDE ?? '127.0.0.1',
};
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], env);
