import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSecretFiles } from '../secret-files.js';

// `npm run secrets:generate [-- --dir DIR] [-- --force]`: creates every secret the platform needs, as files for
// Docker secrets. Prints file names only, never values. Exit 0, or 64 for bad arguments, 1 when writing fails.
// Issue #3: writing the secrets into Infisical instead of files is not built yet.

const USAGE = 'usage: secrets:generate [--dir DIR] [--force]   (DIR defaults to $PDPL_SECRETS_DIR or .secrets)';

let values: { dir?: string | undefined; force?: boolean | undefined };
try {
  ({ values } = parseArgs({ options: { dir: { type: 'string' }, force: { type: 'boolean' } }, strict: true }));
} catch (error) {
  process.stderr.write(`secrets:generate: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(64);
}

const dir = resolve(values.dir ?? process.env.PDPL_SECRETS_DIR ?? '.secrets');
// Root hands the files to the platform's group; anyone else can only hand them to a group of their own.
const defaultGid = process.getuid?.() === 0 ? 10_001 : (process.getgid?.() ?? 0);
const gid = process.env.PDPL_SECRETS_GID ? Number(process.env.PDPL_SECRETS_GID) : defaultGid;
if (!Number.isInteger(gid) || gid < 0) {
  process.stderr.write(`secrets:generate: PDPL_SECRETS_GID must be a group id (a whole number)\n`);
  process.exit(64);
}

try {
  const { created } = generateSecretFiles({ dir, gid, overwrite: values.force === true });
  for (const name of created) process.stdout.write(`${name}\n`);
} catch (error) {
  process.stderr.write(`secrets:generate: FAIL: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
