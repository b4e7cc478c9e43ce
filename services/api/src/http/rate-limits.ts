import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { redisAnswer } from '../redis-client.js';
import { ApiError } from './errors.js';
import { sharedRateCounter } from './shared-rate-counter.js';

// Rate limits live in Redis (keys under rate:), so every API instance counts the same requests. The client is
// request.ip: behind nginx, the address nginx saw (server.trustedProxies makes Fastify believe X-Forwarded-For).
//
// The general limit is counted in memory and shared through Redis in batches (shared-rate-counter.ts); the strict
// limits of login and refresh ask Redis on every request.
//
// When Redis cannot answer, the general limit counts on each instance alone and the strict limits per address skip
// (fail open): every route they guard needs Redis for its own answer and fails closed with 503. The limits per
// account fail closed themselves: a login must never be tried, and its answer shown, without its failure count.

const NAMESPACE = 'rate:';

/** The general limit on every route, and `app.createRateLimit` for the per-account ones. */
export async function registerRateLimits(app: FastifyInstance, settings: Settings, redis: Redis): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: settings.rateLimit.max,
    timeWindow: settings.rateLimit.windowSeconds * 1000,
    store: sharedRateCounter(redis, NAMESPACE),
    skipOnError: true,
    // Limits are announced when they bite (429 with Retry-After), not on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: () => new ApiError('RATE_LIMITED'),
  });
}

/** Route config: the strict limit per client address of login and refresh. */
export function authAddressLimit(settings: Settings) {
  return { rateLimit: { max: settings.rateLimit.authMax, timeWindow: settings.rateLimit.authWindowSeconds * 1000 } };
}

/** Route config of routes no client drives (health checks, metrics scrapes): never limited. */
export const UNLIMITED = { rateLimit: false } as const;

/** An account named in a Redis key without its personal data in the clear. */
export function accountKey(kind: string, account: string): string {
  return `${kind}:${createHash('sha256').update(account).digest('base64url').slice(0, 22)}`;
}

export function refuseWithRetryAfter(reply: FastifyReply, seconds: number): never {
  reply.header('retry-after', Math.max(1, seconds));
  throw new ApiError('RATE_LIMITED');
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * A budget per account kept by @fastify/rate-limit, counted on every call: refuses (429 with Retry-After) once it
 * is spent. Redis down: 503, never a pass.
 */
export class AccountLimit {
  readonly #limiter: Limiter;

  constructor(app: FastifyInstance, max: number, windowSeconds: number, keyOf: (request: FastifyRequest) => string) {
    this.#limiter = app.createRateLimit({
      max,
      timeWindow: windowSeconds * 1000,
      skipOnError: false,
      keyGenerator: keyOf,
    });
  }

  async spend(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const state = await redisAnswer(this.#limiter(request));
    if (!state.isAllowed && state.isExceeded) refuseWithRetryAfter(reply, state.ttlInSeconds);
  }
}
