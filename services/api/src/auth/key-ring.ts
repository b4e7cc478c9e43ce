import { createHmac } from 'node:crypto';
import type { Settings } from '@pdpl/config';

export interface SigningKey {
  /** The `kid` header of tokens this key signs: a fingerprint of the key, so it names the key without revealing it. */
  readonly id: string;
  readonly secret: string;
}

/** The key id of a secret: HMAC-SHA256 of a fixed label under the key, 16 hex digits. Stable across restarts. */
export function keyIdOf(secret: string): string {
  return createHmac('sha256', secret).update('pdpl-jwt-key-id').digest('hex').slice(0, 16);
}

/**
 * The keys tokens may be signed with: the current key signs, the previous one (after a rotation) only verifies.
 * A key not in the ring verifies nothing, so retiring a key is replacing the previous slot.
 */
export class KeyRing {
  readonly current: SigningKey;
  readonly #byId: ReadonlyMap<string, SigningKey>;

  constructor(currentSecret: string, previousSecret = '') {
    this.current = { id: keyIdOf(currentSecret), secret: currentSecret };
    const keys = [this.current];
    if (previousSecret !== '' && previousSecret !== currentSecret) {
      keys.push({ id: keyIdOf(previousSecret), secret: previousSecret });
    }
    this.#byId = new Map(keys.map((key) => [key.id, key]));
  }

  static fromSettings(settings: Settings): KeyRing {
    return new KeyRing(settings.jwt.secret, settings.jwt.previousSecret);
  }

  /** Every key that verifies, current first. */
  get keys(): SigningKey[] {
    return [...this.#byId.values()];
  }
}
