import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSecretFiles } from '../secret-files.js';

// `npm run secrets:generate [-- --dir DIR] [-- --force]`: creates every secret the platform needs, as files for
// Docker secrets. Prints file names only, never values. Exit 0, or 64 for bad arguments, 1 when writing fails.
// Issue #3: writing the secrets into Infisical instead of files is not built yet.

const USAGE = 'usage: npm run secrets:generate [-- --dir DIR] [-- --force]   (DIR: $PDPL_SECRETS_DIR or .secrets)';

let values: { dir?: string | undefined; force?: boolean | undefined; help?: boolean | undefined };
try {
  const options = { dir: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean' } } as const;
  ({ values } = parseArgs({ options, strict: true }));
} catch (error) {
  process.stderr.write(`secrets:generate: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(64);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
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
  const { created, kept } = generateSecretFiles({ dir, gid, overwrite: values.force === true });
  for (const name of created) process.stdout.write(`${name}\n`);
  if (kept.length)
    process.stderr.write(`secrets:generate: kept ${kept.join(', ')} (they exist; --force replaces them)\n`);
  if (values.force && created.some((name) => name.startsWith('postgres_'))) {
    // The database keeps the passwords it was initialised with; a new file alone locks the API out.
    process.stderr.write('secrets:generate: PostgreSQL passwords changed: see README.md, "Rotating a secret"\n');
  }
} catch (error) {
  process.stderr.write(`secrets:generate: FAIL: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
