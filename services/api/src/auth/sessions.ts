import type { Redis } from 'ioredis';
import { redisAnswer } from '../redis-client.js';
import type { RevocationMirror } from './revocation-mirror.js';
import type { Change } from './session-keys.js';
import { CHANNEL, endedKey, logoutAllKey, sessionKey } from './session-keys.js';
import type { IssuedPair, TokenClaims } from './tokens.js';

export type TokenState = 'valid' | 'revoked';
export type RefreshOutcome = 'rotated' | 'reused' | 'ended';

// Spends a refresh token, atomically. KEYS: the session, its ended marker, the user's logout-all time. ARGV: the
// presented token id, the successor's id, the lifetime in s, the session's start (ms), the channel, the ended
// message. A session unknown to Redis (expired, or lost) is ended: refresh fails closed.
const ROTATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'ended' end
if tonumber(ARGV[4]) < tonumber(redis.call('GET', KEYS[3]) or '0') then return 'ended' end
local current = redis.call('GET', KEYS[1])
if not current then return 'ended' end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 'reused'
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 'rotated'`;

/**
 * Session state shared by every API instance. Access tokens are checked against this instance's copy when it is
 * fresh, and against Redis otherwise; writes and refreshes always go to Redis. A Redis that cannot answer raises
 * RedisUnavailableError, never a guess (fail closed: README.md, "Rate limits, and what happens when Redis is down").
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

  /** A new login: its refresh token is the one of the session that may be spent. */
  async start(pair: IssuedPair): Promise<void> {
    await redisAnswer(this.#redis.set(sessionKey(pair.session.family), pair.refreshTokenId, 'EX', this.#refreshTtl));
  }

  /** Whether a verified access token's session still stands: not ended, not older than a "log out everywhere". */
  async stateOf(claims: TokenClaims): Promise<TokenState> {
    const mirror = this.#mirror;
    if (mirror?.fresh()) {
      return mirror.isEnded(claims.fam) || claims.sat < mirror.logoutAllOf(claims.sub) ? 'revoked' : 'valid';
    }
    const [ended, before] = await redisAnswer(this.#redis.mget(endedKey(claims.fam), logoutAllKey(claims.sub)));
    return ended !== null || claims.sat < Number(before ?? 0) ? 'revoked' : 'valid';
  }

  /**
   * Spends a refresh token for its successor, in Redis whatever the copy says. Only the session's latest refresh
   * token can be spent: any other (spent already) means a copy exists, and the whole session ends.
   */
  async rotate(claims: TokenClaims, successor: IssuedPair): Promise<RefreshOutcome> {
    const ended = this.#endedChange(claims.fam);
    const keys = [sessionKey(claims.fam), endedKey(claims.fam), logoutAllKey(claims.sub)];
    const args = [claims.jti, successor.refreshTokenId, this.#refreshTtl, claims.sat, CHANNEL, JSON.stringify(ended)];
    const outcome = (await redisAnswer(this.#redis.eval(ROTATE, keys.length, ...keys, ...args))) as RefreshOutcome;
    if (outcome === 'reused') this.#mirror?.remember(ended);
    return outcome;
  }

  /** Logout: the token's whole session, its refresh token and every token refreshed from it included. */
  async endSession(claims: TokenClaims): Promise<void> {
    const change = this.#endedChange(claims.fam);
    await redisAnswer(
      this.#redis
        .multi()
        .del(sessionKey(claims.fam))
        .set(endedKey(claims.fam), '1', 'EX', this.#refreshTtl)
        .publish(CHANNEL, JSON.stringify(change))
        .exec(),
    );
    // The caller's next request may come back to this instance before the message does.
    this.#mirror?.remember(change);
  }

  /** Log out everywhere: every session of the user started until now ends, on every instance. */
  async endAllSessions(userId: string): Promise<void> {
    // A login in this very millisecond counts as before: it is refused, never left standing by accident.
    const change: Change = { kind: 'logout-all', id: userId, before: Date.now() + 1, expiresAt: this.#expiry() };
    await redisAnswer(
      this.#redis
        .multi()
        .set(logoutAllKey(userId), String(change.before), 'EX', this.#refreshTtl)
        .publish(CHANNEL, JSON.stringify(change))
        .exec(),
    );
    this.#mirror?.remember(change);
  }

  #endedChange(family: string): Change {
    return { kind: 'ended', id: family, expiresAt: this.#expiry() };
  }

  #expiry(): number {
    return Date.now() + this.#refreshTtl * 1000;
  }
}
