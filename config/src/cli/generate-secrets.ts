import { peekSecretManagerSettings } from '../load.js';
import { INFISICAL_COORDINATES } from '../rules.js';
import { apiSecretValues, generateSecretFiles, STORED_DATA_SECRETS } from '../secret-files.js';
import { settingByKey } from '../settings.js';
import { flagsOrExit } from './arguments.js';
import { secretsTarget } from './secrets-target.js';

// `npm run secrets:generate [-- --dir DIR] [-- --force] [-- --infisical]`: creates every secret the platform needs,
// as files for Docker secrets; --force replaces them all but the keys that encrypt stored data. With --infisical,
// the secrets the API reads also go into Infisical, with the values of the files: PostgreSQL and Redis read their
// passwords from the files, so Infisical must hold the same ones; --force then replaces Infisical's values with
// the files' and leaves the files alone. Prints names only, never values. Exit 0; 64 for bad arguments; 1 when
// writing fails or Infisical disagrees.

const USAGE =
  'usage: npm run secrets:generate [-- --dir DIR] [-- --force] [-- --infisical]   (DIR: $PDPL_SECRETS_DIR or .secrets)';

const values = flagsOrExit('secrets:generate', USAGE, {
  dir: { type: 'string' },
  force: { type: 'boolean' },
  infisical: { type: 'boolean' },
} as const);
const { dir, gid } = secretsTarget('secrets:generate', values.dir);
const force = values.force === true;

function fail(message: string): void {
  process.stderr.write(`secrets:generate: FAIL: ${message}\n`);
  process.exitCode = 1;
}

/** The API's secrets into Infisical, where SECRETS_PROVIDER and INFISICAL_* (as the API gets them) point. */
async function storeInInfisical(): Promise<void> {
  const { provider, infisical } = peekSecretManagerSettings();
  const missing = INFISICAL_COORDINATES.filter((name) => infisical[name] === '').map(
    (name) => settingByKey(`secrets.infisical.${name}`)?.env,
  );
  if (provider !== 'infisical' || missing.length) {
    const unset = [...(provider === 'infisical' ? [] : ['SECRETS_PROVIDER=infisical']), ...missing];
    fail(`--infisical needs where to write: set ${unset.join(', ')} (INFISICAL_CLIENT_SECRET_FILE for the secret)`);
    return;
  }
  const { InfisicalSecretProvider } = await import('../secret-providers/infisical.js');
  const manager = await InfisicalSecretProvider.connect(infisical);
  const { created, updated, differing } = await manager.storeSecrets(apiSecretValues(dir), force);
  for (const name of created) process.stdout.write(`${name} (Infisical)\n`);
  for (const name of updated) process.stdout.write(`${name} (Infisical, replaced)\n`);
  if (differing.length) {
    const differ = differing.length === 1 ? 'differs' : 'differ';
    fail(
      `Infisical's ${differing.join(', ')} ${differ} from the secret files that PostgreSQL, Redis and the API's key ` +
        'files hold; the API would read values the data services refuse. Fix: run again with --force to set ' +
        "Infisical from the files (after a rotation, recreate the services: README.md, 'Rotating a secret')",
    );
  }
}

try {
  // With --infisical, --force is about Infisical's values: the files are their source, never redrawn here.
  const { created, kept, keptData } = generateSecretFiles({ dir, gid, overwrite: force && !values.infisical });
  // The names alone go to standard output, one a line, for scripts; what they are goes to standard error.
  if (created.length) process.stderr.write(`secrets:generate: written to ${dir} (names only, never values):\n`);
  for (const name of created) process.stdout.write(`${name}\n`);
  if (kept.length) {
    const dataKeys = kept.filter((name) => STORED_DATA_SECRETS.has(name));
    const forced = dataKeys.length ? `all but ${dataKeys.join(', ')}, held in stored data` : 'them';
    const replaces = values.infisical
      ? "with --infisical, --force replaces Infisical's values, never a file"
      : `--force replaces ${forced}`;
    process.stderr.write(`secrets:generate: kept ${kept.join(', ')} (they exist; ${replaces})\n`);
  }
  if (keptData.length) {
    process.stderr.write(
      `secrets:generate: kept ${keptData.join(', ')}: each is held in what its service stores, which a new file ` +
        'would not match; to replace one anyway, delete its file and run again\n',
    );
  }
  if (values.infisical) await storeInInfisical();
  if (force && created.length) {
    // Running containers keep the files they started with; PostgreSQL and Redis set their passwords at start.
    process.stderr.write(
      'secrets:generate: recreate the services to apply the new values: README.md, "Rotating a secret"\n',
    );
  }
} catch (error) {
  fail((error as Error).message);
}
