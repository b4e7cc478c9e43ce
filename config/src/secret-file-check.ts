import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformSecret } from './secret-files.js';
import { PLATFORM_SECRETS, STORED_DATA_SECRETS } from './secret-files.js';
import { looksLikePlaceholder, MIN_PASSWORD_LENGTH, secretWeakness } from './secret-strength.js';
import { secretInContent } from './sources/secret-file.js';

// The secret files the API never reads (PostgreSQL's roles, Redis's operator, Infisical's and Grafana's own),
// judged on the host before the stack starts (config:check -- --compose, and so npm run up): held to the rules the
// API's secrets meet, to the form their service demands, and never one value in two files. The API's own secrets
// are judged where it loads them. Never quotes a value.

export interface SecretFileProblem {
  readonly file: string;
  readonly message: string;
  /** How to put it right without losing data. */
  readonly fix: string;
}

/** Longer than any generated secret by far; Redis's health check passes its password in the environment. */
const MAX_SECRET_LENGTH = 1_024;

const URL_SAFE = {
  pattern: /^[A-Za-z0-9._~-]+$/,
  says: 'holds characters a URL must escape (Infisical takes it inside a URL)',
};
// What compose/infisical/docker-entrypoint.sh demands, read as it reads them (`$(cat)`: trailing newlines go, a
// carriage return stays).
const FORMS: Readonly<Record<string, { pattern: RegExp; says: string }>> = {
  infisical_encryption_key: {
    pattern: /^[0-9a-f]{32}$/,
    says: 'is not 32 lowercase hex digits, the form Infisical takes',
  },
  infisical_auth_secret: { pattern: /^\S+$/, says: 'holds white space, which Infisical refuses' },
  postgres_infisical_password: URL_SAFE,
  redis_infisical_password: URL_SAFE,
};

const REGENERATE =
  'delete the file and run npm run secrets:generate, then npm run up recreates what reads it ' +
  '(a running stack: README.md, "Rotating a secret")';
// Kept in what a service stores: replacing the file alone would lock the service out of its own data.
const KEPT_IN_DATA: Readonly<Record<string, string>> = {
  grafana_admin_password:
    'Grafana keeps it after its first start: write the new password to the file and set the same in Grafana ' +
    '(its UI, or grafana cli admin reset-admin-password in its container), or, before its first start, delete ' +
    'the file and run npm run secrets:generate',
  grafana_secret_key:
    'Grafana encrypts what it stores with it: before its first start, delete the file and run npm run ' +
    'secrets:generate; after, put back the value it started with, or lose what it encrypted',
  infisical_encryption_key:
    'Infisical encrypts every secret it stores with it: before its first start, delete the file and run npm run ' +
    'secrets:generate; after, put back the key it started with, or lose every secret it holds',
};
const fixFor = (file: string) => KEPT_IN_DATA[file] ?? REGENERATE;

/**
 * A key a service keeps in its data may be one brought from an existing install: only a placeholder or a short
 * value is refused, not the entropy heuristic's doubt, which a random key fails one time in a thousand.
 */
function weaknessOf(secret: PlatformSecret, value: string): string | undefined {
  if (!STORED_DATA_SECRETS.has(secret.file)) return secretWeakness(secret.setting, value);
  if (looksLikePlaceholder(value)) return 'looks like a placeholder or a word';
  if ([...value].length < MIN_PASSWORD_LENGTH) return `is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  return undefined;
}

/** Thrown for a file no verdict can be given on (not a regular file, or unreadable). */
export class SecretFileUnreadable extends Error {
  override readonly name = 'SecretFileUnreadable';
}

/** The file's content; undefined when it does not exist. Reads nothing but a regular file: a pipe would hang. */
function contentOf(path: string): string | undefined {
  let kind: string;
  try {
    const stat = statSync(path);
    if (stat.isFile()) return readFileSync(path, 'utf8');
    kind = stat.isDirectory() ? 'a directory' : 'not a regular file';
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return undefined;
    throw new SecretFileUnreadable(`${path} cannot be read (${code}); check its owner and mode`);
  }
  throw new SecretFileUnreadable(`${path} is ${kind}; it must be a file holding the secret`);
}

/** The value as the services read it (secretInContent), or what is wrong with the file's form. */
function secretValue(secret: PlatformSecret, content: string): { value: string } | { problem: string } {
  const read = secretInContent(content);
  if (!('value' in read)) return { problem: read.problem };
  const { value } = read;
  if ([...value].length > MAX_SECRET_LENGTH) return { problem: `is longer than ${MAX_SECRET_LENGTH} characters` };
  const form = FORMS[secret.file];
  if (form && !form.pattern.test(content.replace(/\n+$/, ''))) return { problem: form.says };
  return { value };
}

/**
 * What is wrong with the secret files in `dir` that the API never reads, one problem each, all at once; a pair of
 * files with one value once, naming the one to replace (never a key kept in data when the other can go). A file
 * that does not exist is a problem too (secrets:generate makes it). Throws SecretFileUnreadable when a file
 * cannot be judged.
 */
export function secretFileProblems(dir: string): SecretFileProblem[] {
  const problems: SecretFileProblem[] = [];
  const values: { secret: PlatformSecret; value: string }[] = [];
  for (const secret of PLATFORM_SECRETS) {
    const content = contentOf(join(dir, secret.file));
    if (content === undefined) {
      if (!('variable' in secret)) {
        problems.push({ file: secret.file, message: 'does not exist', fix: 'run npm run secrets:generate' });
      }
      continue;
    }

    const read = secretValue(secret, content);
    const weakness = 'value' in read ? weaknessOf(secret, read.value) : read.problem;
    // The API's own are judged where it loads them; here they only take part in the comparison below.
    if (weakness && !('variable' in secret)) {
      problems.push({ file: secret.file, message: weakness, fix: fixFor(secret.file) });
    }
    if (!('value' in read)) continue;

    // One secret, one door: a leak of one must not open another.
    const twin = values.find((other) => other.value === read.value);
    values.push({ secret, value: read.value });
    if (!twin) continue;
    const [replace, other] = STORED_DATA_SECRETS.has(secret.file) ? [twin.secret, secret] : [secret, twin.secret];
    problems.push({ file: replace.file, message: `has the same value as ${other.file}`, fix: fixFor(replace.file) });
  }
  return problems;
}
