import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Settings } from '@pdpl/config';

// @node-rs/argon2 rather than `argon2`: the latter's prebuilt binary crashes on Debian's Node.js (SIGSEGV on load),
// which is the runtime of our images.
const ARGON2ID = 2; // Algorithm.Argon2id, a const enum that isolated modules cannot import

/** Limits shared by login's schema and create-user, so no account is made that login would refuse. */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;
const MIN_DISTINCT_CHARACTERS = 5;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (new Set(password).size < MIN_DISTINCT_CHARACTERS) {
    return `must use at least ${MIN_DISTINCT_CHARACTERS} different characters`;
  }
  return undefined;
}

/** argon2id hashing with the cost set in configuration (PASSWORD_MEMORY_COST_KIB and friends). */
export class Passwords {
  readonly #options: { algorithm: number; memoryCost: number; timeCost: number; parallelism: number };
  #decoyHash: Promise<string> | undefined;

  constructor(settings: Settings) {
    const { memoryCostKib, timeCost, parallelism } = settings.passwords;
    this.#options = { algorithm: ARGON2ID, memoryCost: memoryCostKib, timeCost, parallelism };
  }

  hash(password: string): Promise<string> {
    return hash(password, this.#options);
  }

  /** Makes the decoy hash ahead of the first login, so that login is not slower for an unknown email. */
  async prepareDecoy(): Promise<string> {
    this.#decoyHash ??= this.hash(randomBytes(32).toString('base64url'));
    return this.#decoyHash;
  }

  /**
   * Checks a password against a stored hash (whose own parameters apply). With no hash (the email is unknown) it
   * still runs one full verification against a decoy, so the answer takes as long as for a wrong password.
   */
  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    if (storedHash === undefined) {
      await verify(await this.prepareDecoy(), password);
      return false;
    }
    return verify(storedHash, password);
  }
}
