import { SecretFileUnreadable, secretFileProblems } from '../secret-file-check.js';
import { EXIT_START_FAILED } from '../unexpected-failure.js';
import { flagsOrExit } from './arguments.js';
import { secretsTarget } from './secrets-target.js';

// `node config/dist/cli/check-secret-files.js [--json]`, run by `npm run config:check -- --compose` (and so by
// npm run up) before the api's own check: the secret files in $PDPL_SECRETS_DIR (default .secrets) that only the
// data services read (secret-file-check.ts). Exit 0 when all are fit (silent, so the api's check speaks next),
// 1 with every problem and its fix (with --json, config:check's report on standard output), 2 when a file cannot
// be judged, 64 for unknown arguments.

const USAGE = 'usage: check-secret-files.js [--json]   (run by npm run config:check -- --compose)';
const { json } = flagsOrExit('config:check', USAGE, { json: { type: 'boolean' } });
const { dir } = secretsTarget('config:check', undefined);

try {
  const problems = secretFileProblems(dir);
  if (problems.length) {
    process.exitCode = 1;
    for (const { file, message, fix } of problems) {
      process.stderr.write(`config:check: FAIL: ${dir}/${file} ${message}; ${fix}\n`);
    }
    if (json) {
      const report = problems.map(({ file, message, fix }) => ({
        key: `secret file ${file}`,
        env: `${dir}/${file}`,
        message,
        fix,
      }));
      process.stdout.write(`${JSON.stringify({ valid: false, problems: report })}\n`);
    }
  }
} catch (error) {
  if (!(error instanceof SecretFileUnreadable)) throw error;
  process.stderr.write(`config:check: FAIL: ${error.message}\n`);
  process.exitCode = EXIT_START_FAILED;
}
