import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { looksLikePlaceholder, MIN_PASSWORD_LENGTH, secretWeakness } from './secret-strength.js';
import { readSecretFile } from './sources/secret-file.js';

// The secrets the platform's services read as Docker secrets (docker-compose.yml, compose/infisical.yml), with the
// setting each one feeds (its strength rules; Infisical's keys, which feed none of ours, are held to a password's).
// Each role and user has its own password, so one leaked password opens one door.
// `variable`: the API reads this one, and from Infisical under that name when SECRETS_PROVIDER=infisical.
// Only the database image reads the passwords of the superuser, read-only and backup roles (at every start).
// `keepsData`: a secret a service keeps in what it stores (a key that encrypts it, a password it saved at its first
// start); a new file would not match it, so it is made once and never replaced by --force (deleting the file by hand
// is the deliberate way, and only with that service's data).
export const PLATFORM_SECRETS = [
  { file: 'postgres_superuser_password', setting: 'database.password', bytes: 32 },
  { file: 'postgres_owner_password', setting: 'database.password', bytes: 32 },
  { file: 'postgres_app_password', setting: 'database.password', bytes: 32, variable: 'DATABASE_PASSWORD' },
  { file: 'postgres_readonly_password', setting: 'database.password', bytes: 32 },
  { file: 'postgres_backup_password', setting: 'database.password', bytes: 32 },
  // The API's Redis user (pdpl_api), and the operator's (pdpl_operator, also the healthcheck's).
  { file: 'redis_password', setting: 'redis.password', bytes: 32, variable: 'REDIS_PASSWORD' },
  { file: 'redis_operator_password', setting: 'redis.password', bytes: 32 },
  { file: 'jwt_secret', setting: 'jwt.secret', bytes: 64, variable: 'JWT_SECRET' },
  // Starts as a random key that never signed anything; `npm run jwt:rotate` moves the current key here.
  { file: 'jwt_previous_secret', setting: 'jwt.previousSecret', bytes: 64, variable: 'JWT_PREVIOUS_SECRET' },
  // Infisical's own (compose/infisical.yml), in the formats its documentation demands
  // (https://infisical.com/docs/self-hosting/configuration/envars): ENCRYPTION_KEY is 16 random bytes in hex (it
  // encrypts every secret it stores: lose it and they are lost), AUTH_SECRET 32 in base64 (it signs its sessions).
  { file: 'infisical_encryption_key', setting: 'infisical.encryptionKey', bytes: 16, encoding: 'hex', keepsData: true },
  { file: 'infisical_auth_secret', setting: 'infisical.authSecret', bytes: 32, encoding: 'base64' },
  // Its PostgreSQL role (infisical) and Redis user (pdpl_infisical). Infisical takes them inside URLs, which
  // base64url needs no escaping for.
  { file: 'postgres_infisical_password', setting: 'database.password', bytes: 32 },
  { file: 'redis_infisical_password', setting: 'redis.password', bytes: 32 },
  // Grafana's admin password and the key that encrypts what it stores (compose/observability.yml).
  // Grafana takes its admin password from the file on its first start only, and keeps it in its database after.
  { file: 'grafana_admin_password', setting: 'database.password', bytes: 32, keepsData: true },
  { file: 'grafana_secret_key', setting: 'database.password', bytes: 32, keepsData: true },
] as const;

type PlatformSecret = (typeof PLATFORM_SECRETS)[number];

/** The files of the secrets marked `keepsData`, which --force never replaces. */
export const STORED_DATA_SECRETS: ReadonlySet<string> = new Set(
  PLATFORM_SECRETS.filter((secret) => 'keepsData' in secret).map((secret) => secret.file),
);

export interface GenerateOptions {
  readonly dir: string;
  /** Group that may read the files (each service joins it with group_add); mode 0640. */
  readonly gid: number;
  /** Replace files that exist; without it an existing secret is never touched. */
  readonly overwrite: boolean;
}

export interface GenerateResult {
  readonly created: string[];
  readonly kept: string[];
  /** Kept although overwrite was asked: keys that encrypt stored data. */
  readonly keptData: string[];
}

type Encoding = 'base64url' | 'base64' | 'hex';

/** A CSPRNG value, by default as base64url: no `+ / =` and no newline, so it fits any config syntax unquoted. */
function randomSecret(bytes: number, encoding: Encoding): string {
  return randomBytes(bytes).toString(encoding);
}

/**
 * A random value that also passes the schema's strength rules. Their heuristics (no words, no runs of consecutive
 * characters) reject about one random value in tens of thousands; drawing again costs next to no entropy.
 */
function strongSecret(setting: string, bytes: number, encoding: Encoding = 'base64url'): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    const value = randomSecret(bytes, encoding);
    if (secretWeakness(setting, value) === undefined) return value;
  }
  throw new Error(`no generated value for ${setting} met the strength rules; the random source looks broken`);
}

/** Writes the file through a temp file and a rename: readers see the old value or the new one, never half of one. */
function writeSecretFile(target: string, value: string, gid: number): void {
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, value, { mode: 0o600, flag: 'wx' });
  try {
    chownSync(temporary, -1, gid);
    chmodSync(temporary, 0o640);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

const secretNamed = (file: string) => PLATFORM_SECRETS.find((secret) => secret.file === file) as PlatformSecret;

/** Writes every platform secret that is missing (or all but the keys of stored data, with overwrite). */
export function generateSecretFiles({ dir, gid, overwrite }: GenerateOptions): GenerateResult {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const result: GenerateResult = { created: [], kept: [], keptData: [] };
  for (const secret of PLATFORM_SECRETS) {
    const target = join(dir, secret.file);
    if (existsSync(target) && (!overwrite || STORED_DATA_SECRETS.has(secret.file))) {
      (overwrite ? result.keptData : result.kept).push(secret.file);
      continue;
    }
    const encoding = 'encoding' in secret ? secret.encoding : undefined;
    writeSecretFile(target, strongSecret(secret.setting, secret.bytes, encoding), gid);
    result.created.push(secret.file);
  }
  return result;
}

export interface RotateJwtKeyOptions {
  readonly dir: string;
  readonly gid: number;
  /** Retire the previous key (a fresh random value takes its slot) instead of rotating the current one. */
  readonly retire: boolean;
}

/**
 * Rotation: the current key becomes the previous one (tokens it signed keep working until they expire) and a new
 * current key is drawn. Retirement: the previous slot gets a fresh key that never signed anything, so tokens of
 * the old key stop verifying. Both files are replaced whole; the API reads them when its container is recreated.
 */
export function rotateJwtKey({ dir, gid, retire }: RotateJwtKeyOptions): void {
  const current = join(dir, 'jwt_secret');
  const previous = join(dir, 'jwt_previous_secret');
  if (!existsSync(current)) {
    throw new Error(`${current} does not exist; run npm run secrets:generate first`);
  }
  const previousSecret = secretNamed('jwt_previous_secret');
  if (retire) {
    writeSecretFile(previous, strongSecret(previousSecret.setting, previousSecret.bytes), gid);
    return;
  }
  const currentSecret = secretNamed('jwt_secret');
  writeSecretFile(previous, readFileSync(current, 'utf8'), gid);
  writeSecretFile(current, strongSecret(currentSecret.setting, currentSecret.bytes), gid);
}

/** The secrets the API reads, by the variable naming each in Infisical, with their values from the files. */
export function apiSecretValues(dir: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const secret of PLATFORM_SECRETS) {
    if ('variable' in secret) values.set(secret.variable, readFileSync(join(dir, secret.file), 'utf8'));
  }
  return values;
}

export interface SecretFileProblem {
  readonly file: string;
  readonly message: string;
  /** How to put it right without losing data. */
  readonly fix: string;
}

const REGENERATE =
  'delete the file and run npm run secrets:generate, then recreate the services (README.md, "Rotating a secret")';
const CHANGE_IN_SERVICE =
  'its service keeps it in what it stores: change it there first, then write the same value to the file; never ' +
  'delete the file while the data is kept (README.md, "Rotating a secret")';

/**
 * A file whose value its service keeps in what it stores may also be one brought from elsewhere (an Infisical
 * encryption key of an existing install): only a placeholder or a short value is refused, not a heuristic's doubt,
 * which a random key fails one time in a thousand.
 */
function storedDataWeakness(value: string): string | undefined {
  if (looksLikePlaceholder(value)) return 'looks like a placeholder or a word';
  if ([...value].length < MIN_PASSWORD_LENGTH) return `is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  return undefined;
}

/**
 * What is wrong with the secret files in `dir` that the API never reads (PostgreSQL's roles, Redis's operator,
 * Infisical's and Grafana's own): a value too weak for the rules the API's secrets meet (a file set by hand, say),
 * or one value in two secret files. Values are judged as the services read them, one trailing newline dropped.
 * The API's own secrets are judged, with the same rules, where it loads them (config:check). Files that do not
 * exist are not judged: secrets:generate makes them. Throws on a file that exists but cannot be read. Never
 * quotes a value.
 */
export function secretFileProblems(dir: string): SecretFileProblem[] {
  const present: { secret: PlatformSecret; value: string }[] = [];
  const problems: SecretFileProblem[] = [];
  for (const secret of PLATFORM_SECRETS) {
    const path = join(dir, secret.file);
    if (!existsSync(path)) continue;

    const read = readSecretFile(secret.file, path);
    if ('value' in read) {
      present.push({ secret, value: read.value });
      continue;
    }
    // Empty, or white space around the value: the services would refuse it too. Unreadable: no verdict at all.
    const message = read.message.replace(`the file named by ${secret.file} `, '');
    if (message === 'cannot be read') throw new Error(`${path} cannot be read`);
    problems.push({ file: secret.file, message, fix: read.fix });
  }

  for (const [index, { secret, value }] of present.entries()) {
    const keepsData = STORED_DATA_SECRETS.has(secret.file);
    const fix = keepsData ? CHANGE_IN_SERVICE : REGENERATE;
    const weakness = keepsData ? storedDataWeakness(value) : secretWeakness(secret.setting, value);
    if (!('variable' in secret) && weakness) problems.push({ file: secret.file, message: weakness, fix });

    // One secret, one door: a leak of one must not open another. Each pair once; replace the one that keeps no data.
    const twin = present.slice(0, index).find((other) => other.value === value);
    if (!twin) continue;
    const [replace, other] = STORED_DATA_SECRETS.has(secret.file) ? [twin.secret, secret] : [secret, twin.secret];
    const fixTwin = STORED_DATA_SECRETS.has(replace.file) ? CHANGE_IN_SERVICE : REGENERATE;
    problems.push({ file: replace.file, message: `has the same value as ${other.file}`, fix: fixTwin });
  }
  return problems;
}
