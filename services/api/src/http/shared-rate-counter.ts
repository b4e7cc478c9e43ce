import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import type { Redis } from 'ioredis';

// The general rate limit counts every request, so it must not cost every request a Redis round trip: each
// instance counts at once in memory and adds its counts to Redis every FLUSH_MS, learning the others' in return.
// A limit is thus shared by every instance, late by at most FLUSH_MS of the others' traffic; while Redis cannot
// answer, each instance keeps counting on its own. The strict limits (login, refresh, per account) are children of
// this store and stay exact: one Redis call per request, with @fastify/rate-limit's own Redis store.

const FLUSH_MS = 100;
/** Clients tracked at once; past it the oldest is forgotten (its count restarts), so memory stays bounded. */
const MAX_COUNTERS = 100_000;

// KEYS[1] the counter; ARGV: what to add, the window in ms. The first addition of a window starts its expiry.
const ADD = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return { count, redis.call('PTTL', KEYS[1]) }`;

interface Counter {
  /** Counted here, not yet added to Redis. */
  pending: number;
  /** Sent to Redis, its answer not back yet. */
  sending: number;
  /** The shared total at the last exchange with Redis, this instance's additions included. */
  shared: number;
  /** When the window ends, in ms since the epoch. */
  expiresAt: number;
  readonly windowMs: number;
}

type RouteInfo = {
  routeInfo?: { method?: string; url?: string };
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
};

/** A @fastify/rate-limit store class over this Redis connection, its keys under `prefix`. */
export function sharedRateCounter(redis: Redis, prefix: string): FastifyRateLimitStoreCtor {
  return class SharedRateCounter implements FastifyRateLimitStore {
    readonly #counters = new Map<string, Counter>();
    #flushTimer: NodeJS.Timeout | undefined;

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      const now = Date.now();
      let counter = this.#counters.get(key);
      if (!counter || counter.expiresAt <= now) {
        counter = { pending: 0, sending: 0, shared: 0, expiresAt: now + timeWindow, windowMs: timeWindow };
        this.#counters.delete(key);
        if (this.#counters.size >= MAX_COUNTERS) this.#counters.delete(this.#counters.keys().next().value as string);
        this.#counters.set(key, counter);
      }
      counter.pending += 1;
      this.#flushTimer ??= setTimeout(() => void this.#flush(), FLUSH_MS).unref();
      const current = counter.shared + counter.sending + counter.pending;
      callback(null, { current, ttl: counter.expiresAt - now });
    }

    /** Route and account limits: exact, one Redis call per request. */
    child(routeOptions: object): FastifyRateLimitStore {
      // What the plugin passes at run time: the route's merged limit options, its route under routeInfo.
      const options = routeOptions as RouteInfo;
      const { method, url } = options.routeInfo ?? {};
      const scope = url ? `${method}${url}-` : 'account-';
      return new RedisStore(
        options.continueExceeding ?? false,
        options.exponentialBackoff ?? false,
        redis,
        `${prefix}${scope}`,
      );
    }

    async #flush(): Promise<void> {
      this.#flushTimer = undefined;
      const now = Date.now();
      const additions: Promise<void>[] = [];
      for (const [key, counter] of this.#counters) {
        // A window that has ended is forgotten, counts and all: they are never charged to the next one.
        if (counter.expiresAt <= now) {
          this.#counters.delete(key);
          continue;
        }
        if (counter.pending === 0) continue;
        const added = counter.pending;
        counter.pending = 0;
        counter.sending += added;
        const exchange = redis.eval(ADD, 1, `${prefix}all:${key}`, added, counter.windowMs) as Promise<
          [number, number]
        >;
        additions.push(
          exchange.then(
            ([count, ttl]) => {
              counter.sending -= added;
              counter.shared = count;
              if (ttl > 0) counter.expiresAt = Date.now() + ttl;
            },
            () => {
              // Redis did not take it: keep it counted here, and offer it again at the next flush.
              counter.sending -= added;
              counter.pending += added;
            },
          ),
        );
      }
      await Promise.all(additions);
      if ([...this.#counters.values()].some((counter) => counter.pending > 0)) {
        this.#flushTimer ??= setTimeout(() => void this.#flush(), FLUSH_MS).unref();
      }
    }
  };
}
