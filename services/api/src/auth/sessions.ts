import type { Redis } from 'ioredis';
import { redisAnswer } from '../redis-client.js';
import type { Change, RevocationMirror } from './revocation-mirror.js';
import { CHANNEL, GENERATION_PREFIX, SESSION_PREFIX } from './revocation-mirror.js';
import type { TokenClaims } from './tokens.js';

// Everything the API remembers about sessions lives in Redis under auth:, each key expiring when the last token it
// concerns would have expired anyway:
//   auth:spent:<jti>            a refresh token already used (each works once)
//   auth:revoked-session:<fam>  a session ended (logout, or a reused refresh token)
//   auth:generation:<user>      raised by "log out everywhere": tokens of older generations are refused
// Every change to the last two is also published, for each instance's copy (revocation-mirror.ts).
const spentKey = (jti: string) => `auth:spent:${jti}`;
const sessionKey = (family: string) => `${SESSION_PREFIX}${family}`;
const generationKey = (userId: string) => `${GENERATION_PREFIX}${userId}`;

const secondsUntil = (exp: number) => Math.max(1, exp - Math.floor(Date.now() / 1000));
const message = (change: Change) => JSON.stringify(change);

export type TokenState = 'valid' | 'revoked';
export type RefreshOutcome = 'rotated' | 'reused';

/**
 * Session state shared by every API instance. Access tokens are checked against this instance's copy when it is
 * fresh, and against Redis otherwise; writes and refresh tokens always go to Redis. A Redis that cannot answer
 * raises RedisUnavailableError, never a guess (fail closed: README.md, "Rate limits, and what happens when Redis
 * is down").
 */
export class SessionStore {
  readonly #redis: Redis;
  readonly #mirror: RevocationMirror | undefined;
  readonly #refreshTtl: number;

  constructor(redis: Redis, refreshTtlSeconds: number, mirror?: RevocationMirror) {
    this.#redis = redis;
    this.#refreshTtl = refreshTtlSeconds;
    this.#mirror = mirror;
  }

  /** The user's current session generation, stamped into the tokens of a new login. */
  async generationOf(userId: string): Promise<number> {
    return Number((await redisAnswer(this.#redis.get(generationKey(userId)))) ?? 0);
  }

  /** Whether a verified token's session still stands: not ended, not older than the user's generation. */
  async stateOf(claims: TokenClaims): Promise<TokenState> {
    const mirror = this.#mirror;
    if (mirror?.fresh()) {
      const revoked = mirror.isSessionRevoked(claims.fam) || mirror.generationOf(claims.sub) > claims.gen;
      return revoked ? 'revoked' : 'valid';
    }
    const [session, generation] = await redisAnswer(
      this.#redis.mget(sessionKey(claims.fam), generationKey(claims.sub)),
    );
    return session !== null || Number(generation ?? 0) > claims.gen ? 'revoked' : 'valid';
  }

  /**
   * Spends a refresh token, in Redis whatever the copy says: the first use rotates it; any later one is theft or a
   * replay, and ends the session (every token of its family, including the pair the first use got).
   */
  async spendRefreshToken(claims: TokenClaims): Promise<RefreshOutcome> {
    const first = await redisAnswer(this.#redis.set(spentKey(claims.jti), '1', 'EX', secondsUntil(claims.exp), 'NX'));
    if (first === 'OK') return 'rotated';
    await this.endSession(claims);
    return 'reused';
  }

  /** Logout: the token's whole session, its refresh token and every token refreshed from it included. */
  async endSession(claims: TokenClaims): Promise<void> {
    const change: Change = { kind: 'session', id: claims.fam, expiresAt: Date.now() + this.#refreshTtl * 1000 };
    await redisAnswer(
      this.#redis
        .multi()
        .set(sessionKey(claims.fam), '1', 'EX', this.#refreshTtl)
        .publish(CHANNEL, message(change))
        .exec(),
    );
    // The caller's next request may come back to this instance before the message does.
    this.#mirror?.remember(change);
  }

  /** Log out everywhere: every token of the user issued until now is refused, on every instance. */
  async endAllSessions(userId: string): Promise<void> {
    const expiresAt = Date.now() + this.#refreshTtl * 1000;
    // One script, so the new value is published in the same step that writes it.
    const value = await redisAnswer(
      this.#redis.eval(RAISE_GENERATION, 1, generationKey(userId), this.#refreshTtl, CHANNEL, userId, expiresAt),
    );
    this.#mirror?.remember({ kind: 'generation', id: userId, value: Number(value), expiresAt });
  }
}

// KEYS[1]: the user's generation key. ARGV: its lifetime in seconds, the channel, the user id, the expiry in ms.
const RAISE_GENERATION = `
local value = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({ kind = 'generation', id = ARGV[3], value = value,
  expiresAt = tonumber(ARGV[4]) }))
return value`;
