import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2 rather than `argon2`: the latter's prebuilt binary crashes on Debian's Node.js (SIGSEGV on load),
// which is the runtime of our images. Parameters: OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane).
// Issue #4 moves them into the config schema.
const ARGON2ID = 2; // Algorithm.Argon2id, a const enum that isolated modules cannot import
const HASH_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;

export function hashPassword(password: string): Promise<string> {
  return hash(password, HASH_OPTIONS);
}

let decoyHash: Promise<string> | undefined;

/** Makes the decoy hash ahead of the first login, so that login is not slower for an unknown email. */
export async function prepareDecoyHash(): Promise<void> {
  decoyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  await decoyHash;
}

/**
 * Checks a password against a stored hash. With no hash (the email is unknown) it still runs one full argon2
 * verification against a decoy, so the answer takes as long as for a wrong password and reveals nothing.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    await prepareDecoyHash();
    await verify(await (decoyHash as Promise<string>), password);
    return false;
  }
  return verify(storedHash, password);
}
