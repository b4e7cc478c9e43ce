import type { Redis } from 'ioredis';
import type { TokenClaims } from './tokens.js';

const key = (jti: string) => `revoked:${jti}`;

/** Redis could not answer, so whether a token is revoked is unknown; callers must refuse, never assume "no". */
export class RevocationStoreUnavailableError extends Error {
  override readonly name = 'RevocationStoreUnavailableError';
}

async function answerOrUnavailable<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new RevocationStoreUnavailableError((error as Error).message);
  }
}

/** Revoked token ids, kept in Redis exactly as long as the token would otherwise have stayed valid. */
export class RevocationList {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Revokes the token; true when this call revoked it, false when it was revoked already. */
  async revoke(claims: TokenClaims): Promise<boolean> {
    const ttl = Math.max(1, claims.exp - Math.floor(Date.now() / 1000));
    return (await answerOrUnavailable(this.#redis.set(key(claims.jti), '1', 'EX', ttl, 'NX'))) === 'OK';
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await answerOrUnavailable(this.#redis.exists(key(jti)))) === 1;
  }
}
