import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { UNLIMITED } from '../http/rate-limits.js';

export interface HealthRouteDeps {
  readonly db: pg.Pool;
  readonly redis: Redis;
}

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export async function healthRoutes(app: FastifyInstance, { db, redis }: HealthRouteDeps): Promise<void> {
  // Liveness: the process answers. Never depends on other services, or a database outage would restart the API.
  app.get('/health/live', { config: UNLIMITED }, async () => ({ status: 'ok' }));

  // Readiness: the API can serve, because PostgreSQL and Redis both answer a real query right now.
  app.get('/health/ready', { config: UNLIMITED }, async (_request, reply) => {
    const [postgres, redisState] = await Promise.all([probe(() => db.query('SELECT 1')), probe(() => redis.ping())]);
    const ready = postgres === 'up' && redisState === 'up';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', postgres, redis: redisState });
  });
}
