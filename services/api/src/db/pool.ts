import type { Settings } from '@pdpl/config';
import pg from 'pg';
import type { Logger } from 'pino';

// Issue #5: TLS with verification against the platform's CA.
/** Connection options with the password as its own field, so any character in it works (no URL escaping). */
export function connectionOptions(settings: Settings): pg.ClientConfig {
  const { host, port, name, user, password } = settings.database;
  return { host, port, database: name, user, password, application_name: 'pdpl-api' };
}

export function createPool(settings: Settings, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    ...connectionOptions(settings),
    max: settings.database.poolMax,
    connectionTimeoutMillis: settings.database.connectTimeoutMs,
    idleTimeoutMillis: settings.database.idleTimeoutMs,
  });
  // An idle client losing its server (a database restart) emits here; without a listener the process would crash.
  pool.on('error', (error) => log.error({ err: error }, 'idle database connection failed'));
  return pool;
}
