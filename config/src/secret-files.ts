import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretWeakness } from './secret-strength.js';

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

export type PlatformSecret = (typeof PLATFORM_SECRETS)[number];

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
