import { generateSecretFiles } from '../secret-files.js';
import { flagsOrExit } from './arguments.js';
import { secretsTarget } from './secrets-target.js';

// `npm run secrets:generate [-- --dir DIR] [-- --force]`: creates every secret the platform needs, as files for
// Docker secrets. Prints file names only, never values. Exit 0, or 64 for bad arguments, 1 when writing fails.
// Issue #3: writing the secrets into Infisical instead of files is not built yet.

const USAGE = 'usage: npm run secrets:generate [-- --dir DIR] [-- --force]   (DIR: $PDPL_SECRETS_DIR or .secrets)';

const values = flagsOrExit('secrets:generate', USAGE, { dir: { type: 'string' }, force: { type: 'boolean' } } as const);
const { dir, gid } = secretsTarget('secrets:generate', values.dir);

try {
  const { created, kept } = generateSecretFiles({ dir, gid, overwrite: values.force === true });
  for (const name of created) process.stdout.write(`${name}\n`);
  if (kept.length)
    process.stderr.write(`secrets:generate: kept ${kept.join(', ')} (they exist; --force replaces them)\n`);
  if (values.force && created.length) {
    // Running containers keep the files they started with; PostgreSQL and Redis set their passwords at start.
    process.stderr.write(
      'secrets:generate: recreate the services to apply the new values: README.md, "Rotating a secret"\n',
    );
  }
} catch (error) {
  process.stderr.write(`secrets:generate: FAIL: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
