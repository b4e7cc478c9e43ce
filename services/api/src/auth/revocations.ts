import type { Redis } from 'ioredis';
import type { TokenClaims } from './tokens.js';

const key = (jti: string) => `revoked:${jti}`;

/** Revoked token ids, kept in Redis exactly as long as the token would otherwise have stayed valid. */
export class RevocationList {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Revokes the token; true when this call revoked it, false when it was revoked already. */
  async revoke(claims: TokenClaims): Promise<boolean> {
    const ttl = Math.max(1, claims.exp - Math.floor(Date.now() / 1000));
    return (await this.#redis.set(key(claims.jti), '1', 'EX', ttl, 'NX')) === 'OK';
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.#redis.exists(key(jti))) === 1;
  }
}
