import { secretFileProblems } from '../secret-files.js';
import { EXIT_START_FAILED } from '../unexpected-failure.js';
import { secretsTarget } from './secrets-target.js';

// `node config/dist/cli/check-secret-files.js`, run by `npm run config:check -- --compose` (and so by npm run up):
// judges the secret files in $PDPL_SECRETS_DIR (default .secrets) that only PostgreSQL, Redis, Infisical and Grafana
// read, by the rules the API's own secrets meet (those are judged where the API loads them, next), and that no two
// secret files hold one value. Reports on standard error. Exit 0 when all are fit, 1 with each problem and its fix,
// 2 when a file cannot be read.

const { dir } = secretsTarget('config:check', undefined);
try {
  const problems = secretFileProblems(dir);
  for (const { file, message, fix } of problems) {
    process.stderr.write(`config:check: FAIL: ${dir}/${file} ${message}; ${fix}\n`);
  }
  if (problems.length) process.exitCode = 1;
} catch (error) {
  process.stderr.write(`config:check: FAIL: ${(error as Error).message}; check the file's owner and mode\n`);
  process.exitCode = EXIT_START_FAILED;
}
