import type { Redis } from 'ioredis';
import { normaliseEmail } from '../db/users.js';
import { accountKey } from '../http/rate-limits.js';
import { redisAnswer } from '../redis-client.js';

// Counts an attempt, starting the window at the first. KEYS[1]: the account's counter. ARGV[1]: the window in ms.
const COUNT = `
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { attempts, redis.call('PTTL', KEYS[1]) }`;

export type Attempt = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Login attempts per account, known or not (so the answer tells nothing about who has an account). Each attempt
 * is counted before its password is checked, so attempts sent in parallel cannot exceed the budget; a success
 * clears the count. An account over its budget waits until its window ends, even with the right password.
 * Redis unreachable: RedisUnavailableError, so no password is checked without its account's count.
 */
export class LoginAttempts {
  readonly #redis: Redis;
  readonly #max: number;
  readonly #windowMs: number;

  constructor(redis: Redis, max: number, windowSeconds: number) {
    this.#redis = redis;
    this.#max = max;
    this.#windowMs = windowSeconds * 1000;
  }

  async begin(email: string): Promise<Attempt> {
    const [attempts, ttl] = (await redisAnswer(this.#redis.eval(COUNT, 1, keyOf(email), this.#windowMs))) as [
      number,
      number,
    ];
    return attempts <= this.#max ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.ceil(ttl / 1000) };
  }

  async succeeded(email: string): Promise<void> {
    await redisAnswer(this.#redis.del(keyOf(email)));
  }
}

/** The account in a Redis key without the email in the clear (it is personal data), spelt as the users table does. */
const keyOf = (email: string) => accountKey('auth:login-attempts', normaliseEmail(email));
