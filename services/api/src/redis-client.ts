import type { Settings } from '@pdpl/config';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function createRedis(settings: Settings, log: Logger): Redis {
  const { host, port, username, password } = settings.redis;
  const redis = new Redis({
    host,
    port,
    username,
    password: password || undefined,
    lazyConnect: true,
    connectTimeout: settings.redis.connectTimeoutMs,
    // Fail fast instead of queueing: a request should get a 503 quickly, not hang until Redis returns.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  redis.on('error', (error) => log.error({ err: { message: error.message } }, 'redis connection error'));
  return redis;
}
