import { secretFileProblems } from '../secret-files.js';
import { secretsTarget } from './secrets-target.js';

// `node config/dist/cli/check-secret-files.js`, run by `npm run config:check -- --compose` (and so by npm run up):
// judges the secret files in $PDPL_SECRETS_DIR (default .secrets) that only PostgreSQL, Redis, Infisical and Grafana
// read, by the rules the API's own secrets meet (those are judged where the API loads them, next). Exit 0 when all
// are fit, 1 with each problem named.

const { dir } = secretsTarget('config:check', undefined);
const problems = secretFileProblems(dir);
for (const problem of problems) process.stderr.write(`config:check: FAIL: ${problem}\n`);
if (problems.length) {
  process.stderr.write(
    'config:check: replace each with a generated one: delete its file and run npm run secrets:generate, then ' +
      'recreate the services that read it (README.md, "Rotating a secret")\n',
  );
  process.exitCode = 1;
}
