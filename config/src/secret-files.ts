import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretWeakness } from './secret-strength.js';

// The secrets the platform's services read as Docker secrets (docker-compose.yml), with the setting each one
// feeds. The PostgreSQL superuser password feeds no setting: only the database image uses it, on first start.
export const PLATFORM_SECRETS = [
  { file: 'postgres_superuser_password', setting: 'database.password', bytes: 32 },
  { file: 'postgres_app_password', setting: 'database.password', bytes: 32 },
  { file: 'redis_password', setting: 'redis.password', bytes: 32 },
  { file: 'jwt_secret', setting: 'jwt.secret', bytes: 64 },
] as const;

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
}

/** A CSPRNG value as base64url: no `+ / =` and no newline, so it fits any config syntax unquoted. */
function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A random value that also passes the schema's strength rules. Their heuristics (no words, no runs of consecutive
 * characters) reject about one random value in tens of thousands; drawing again costs next to no entropy.
 */
function strongSecret(setting: string, bytes: number): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    const value = randomSecret(bytes);
    if (secretWeakness(setting, value) === undefined) return value;
  }
  throw new Error(`no generated value for ${setting} met the strength rules; the random source looks broken`);
}

/** Writes every platform secret that is missing (or all, with overwrite), each through a temp file and a rename. */
export function generateSecretFiles({ dir, gid, overwrite }: GenerateOptions): GenerateResult {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const result: GenerateResult = { created: [], kept: [] };
  for (const secret of PLATFORM_SECRETS) {
    const target = join(dir, secret.file);
    if (existsSync(target) && !overwrite) {
      result.kept.push(secret.file);
      continue;
    }
    const value = strongSecret(secret.setting, secret.bytes);
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, value, { mode: 0o600, flag: 'wx' });
    chownSync(temporary, -1, gid);
    chmodSync(temporary, 0o640);
    renameSync(temporary, target);
    result.created.push(secret.file);
  }
  return result;
}
