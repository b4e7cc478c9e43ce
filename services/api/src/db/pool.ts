import { readFileSync } from 'node:fs';
import type { Settings } from '@pdpl/config';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * TLS as DATABASE_SSL_MODE asks: verify-full checks the certificate against the CA (DATABASE_CA_FILE, else the
 * system's) and the host name against it; require encrypts without checking who answers; disable sends in clear.
 * The configuration refuses all but verify-full in production.
 */
function tlsOptions({ sslMode, caFile }: Settings['database']): pg.ClientConfig['ssl'] {
  if (sslMode === 'disable') return false;
  if (sslMode === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) };
}

/** Connection options with the password as its own field, so any character in it works (no URL escaping). */
export function connectionOptions(settings: Settings): pg.ClientConfig {
  const { host, port, name, user, password } = settings.database;
  return {
    host,
    port,
    database: name,
    user,
    password,
    ssl: tlsOptions(settings.database),
    application_name: 'pdpl-api',
  };
}

/**
 * The API's pool. `password`, when given, is asked for each new connection, so a password rotated in the secret
 * manager is used from the next connection on; open connections stay as they are.
 */
export function createPool(settings: Settings, log: Logger, password?: () => string): pg.Pool {
  const pool = new pg.Pool({
    ...connectionOptions(settings),
    ...(password ? { password } : {}),
    max: settings.database.poolMax,
    connectionTimeoutMillis: settings.database.connectTimeoutMs,
    idleTimeoutMillis: settings.database.idleTimeoutMs,
    // A database that vanished without closing the connection (a network cut, a paused host) fails the query
    // after this long instead of holding the request and the pool slot forever; keepalives find it sooner.
    query_timeout: settings.database.queryTimeoutMs,
    keepAlive: true,
  });
  // An idle client losing its server (a database restart) emits here; without a listener the process would crash.
  pool.on('error', (error) => log.error({ err: { message: error.message } }, 'idle database connection failed'));
  return pool;
}
