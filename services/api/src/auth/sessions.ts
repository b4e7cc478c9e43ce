import type { Redis } from 'ioredis';
import { redisAnswer } from '../redis-client.js';
import type { TokenClaims } from './tokens.js';

// Everything the API remembers about sessions lives in Redis under auth:, each key expiring when the last token it
// concerns would have expired anyway:
//   auth:revoked:<jti>          one token revoked (logout), or a refresh token already used
//   auth:revoked-session:<fam>  a whole session revoked (logout, or a reused refresh token)
//   auth:generation:<user>      raised by "log out everywhere": tokens of older generations are refused
const revokedToken = (jti: string) => `auth:revoked:${jti}`;
const revokedSession = (family: string) => `auth:revoked-session:${family}`;
const generationKey = (userId: string) => `auth:generation:${userId}`;

const secondsUntil = (exp: number) => Math.max(1, exp - Math.floor(Date.now() / 1000));

/** valid; revoked-token: this token alone (logout, or a refresh token already spent); revoked-session: the rest. */
export type TokenState = 'valid' | 'revoked-token' | 'revoked-session';
export type RefreshOutcome = 'rotated' | 'reused';

/**
 * Revocation state shared by every API instance through Redis. Each question costs one round trip; a Redis that
 * cannot answer raises RedisUnavailableError, never a guess (fail closed: see README.md, "When Redis is down").
 */
export class SessionStore {
  readonly #redis: Redis;
  readonly #refreshTtl: number;

  constructor(redis: Redis, refreshTtlSeconds: number) {
    this.#redis = redis;
    this.#refreshTtl = refreshTtlSeconds;
  }

  /** The user's current session generation, stamped into the tokens of a new login. */
  async generationOf(userId: string): Promise<number> {
    return Number((await redisAnswer(this.#redis.get(generationKey(userId)))) ?? 0);
  }

  /** Whether a verified token still stands: not revoked itself, nor its session, nor its generation. */
  async stateOf(claims: TokenClaims): Promise<TokenState> {
    const [token, session, generation] = await redisAnswer(
      this.#redis.mget(revokedToken(claims.jti), revokedSession(claims.fam), generationKey(claims.sub)),
    );
    if (session !== null || Number(generation ?? 0) > claims.gen) return 'revoked-session';
    return token === null ? 'valid' : 'revoked-token';
  }

  /**
   * Spends a refresh token: the first use rotates it, any later one is theft or a replay, and ends the session
   * (every token of its family, including the pair the first use got).
   */
  async spendRefreshToken(claims: TokenClaims): Promise<RefreshOutcome> {
    const first = await redisAnswer(
      this.#redis.set(revokedToken(claims.jti), '1', 'EX', secondsUntil(claims.exp), 'NX'),
    );
    if (first === 'OK') return 'rotated';
    await this.revokeSession(claims);
    return 'reused';
  }

  /** Logout: this token and its whole session, so the session's refresh token is dead too. */
  async revokeSession(claims: TokenClaims): Promise<void> {
    await redisAnswer(
      this.#redis
        .multi()
        .set(revokedToken(claims.jti), '1', 'EX', secondsUntil(claims.exp))
        .set(revokedSession(claims.fam), '1', 'EX', this.#refreshTtl)
        .exec(),
    );
  }

  /** Log out everywhere: every token of the user issued until now is refused, whichever instance checks it. */
  async endAllSessions(userId: string): Promise<void> {
    await redisAnswer(
      this.#redis.multi().incr(generationKey(userId)).expire(generationKey(userId), this.#refreshTtl).exec(),
    );
  }
}
