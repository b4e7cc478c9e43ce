import type { Settings } from '@pdpl/config';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Redis did not answer (down, slow past the command timeout, or refusing): the caller must not guess. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** The command's answer, or RedisUnavailableError whatever went wrong on the way. */
export async function redisAnswer<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new RedisUnavailableError((error as Error).message);
  }
}

export function createRedis(settings: Settings, log: Logger): Redis {
  const { host, port, username, password, connectTimeoutMs, commandTimeoutMs } = settings.redis;
  const redis = new Redis({
    host,
    port,
    username,
    password: password || undefined,
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // A slow Redis fails the command after this long instead of holding the request open.
    commandTimeout: commandTimeoutMs,
    // Fail fast instead of queueing: a request should get a 503 quickly, not hang until Redis returns.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Commands issued in the same tick travel in one write: one round trip serves many concurrent requests.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // One line when Redis is lost and one when it is back, not a line per reconnection attempt.
  let lost = false;
  redis.on('error', (error) => {
    if (!lost) log.error({ err: { message: error.message } }, 'redis connection lost; requests that need it get 503');
    lost = true;
  });
  redis.on('ready', () => {
    if (lost) log.warn('redis connection back');
    lost = false;
  });
  return redis;
}
