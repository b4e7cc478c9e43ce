import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Settings } from '@pdpl/config';
import type { RedisOptions } from 'ioredis';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

type RedisSettings = Settings['redis'];

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

/** TLS on: Redis's certificate is checked against the CA, and REDIS_HOST against the certificate's names. */
function tlsOptions({ tls, caFile }: RedisSettings): RedisOptions['tls'] {
  if (!tls) return undefined;
  // The configuration has checked that the file holds a certificate (an empty setting: the system's CAs).
  return { minVersion: 'TLSv1.2', rejectUnauthorized: true, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) };
}

export function createRedis(settings: Settings, log: Logger): Redis {
  const { host, port, username, password, connectTimeoutMs, commandTimeoutMs } = settings.redis;
  const redis = new Redis({
    host,
    port,
    // Separate options, never a URL: any character in the password works.
    username,
    password: password || undefined,
    tls: tlsOptions(settings.redis),
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
  // One line when Redis is lost and one when it is back, not a line per reconnection attempt. Until the first
  // connection, connectRedis reports instead.
  let state: 'starting' | 'up' | 'lost' = 'starting';
  redis.on('error', (error) => {
    if (state !== 'up') return;
    log.error({ err: { message: error.message } }, 'redis connection lost; requests that need it get 503');
    state = 'lost';
  });
  redis.on('ready', () => {
    if (state === 'lost') log.warn('redis connection back');
    state = 'up';
  });
  return redis;
}

/**
 * The first connection, at start. Unreachable (refused, timed out, not resolvable): logged, and retried in the
 * background like any later outage. Refused by Redis (the login, the certificate, TLS on one side only): retrying
 * cannot help, so it stops reconnecting and rejects with what is wrong and the setting to fix.
 */
export async function connectRedis(redis: Redis, settings: RedisSettings, log: Logger): Promise<void> {
  let failure: Error | undefined;
  let connected = false;
  const onError = (error: Error) => {
    failure ??= error;
  };
  const onConnect = () => {
    connected = true;
  };
  redis.on('error', onError).on('connect', onConnect);
  try {
    await redis.connect();
    return;
  } catch (error) {
    // ioredis rejects with "Connection is closed."; the reason, if any, came as an error event before.
    failure ??= error as Error;
  } finally {
    redis.off('error', onError).off('connect', onConnect);
  }

  const where = `Redis at ${settings.host}:${settings.port}`;
  const refusal = refusalOf(failure, settings) ?? (await tlsMismatchOf(failure, connected, settings));
  if (refusal !== undefined) {
    redis.disconnect();
    throw new Error(`${where} ${refusal}`);
  }

  log.warn({ err: { message: failure.message } }, 'redis not reachable at start; retrying in the background');
  // Should Redis, once up, refuse the API, say so once: the retries go on, but only the settings can fix it.
  const onLaterError = (error: Error) => {
    const later = refusalOf(error, settings);
    if (later === undefined) return;
    redis.off('error', onLaterError);
    log.error({ problem: `${where} ${later}` }, 'redis refuses the API; fix the setting and restart the API');
  };
  redis.on('error', onLaterError).once('ready', () => {
    redis.off('error', onLaterError);
    log.warn('redis connection up');
  });
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** What Redis's own answer says is wrong with the login or the certificate, with the fix; undefined otherwise. */
function refusalOf(error: Error, { host, username, caFile }: RedisSettings): string | undefined {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const login = 'REDIS_USERNAME and REDIS_PASSWORD (or the file REDIS_PASSWORD_FILE names)';
  // Redis answers a wrong password, an unknown user and a disabled one alike.
  if (error.message.includes('WRONGPASS')) {
    return `refused the login of user ${username} (wrong password, or the user is unknown or disabled); check ${login}`;
  }
  if (error.message.includes('NOAUTH')) return `requires a login, and the API gave no password; set ${login}`;
  if (error.message.includes('NOPERM')) {
    return `refused user ${username} a command the API sends on connecting (${error.message}); check REDIS_USERNAME`;
  }
  if (UNTRUSTED.has(code)) {
    const trusted = caFile ? `the CA in REDIS_CA_FILE (${caFile})` : 'any system CA (REDIS_CA_FILE is empty)';
    return `presented a certificate not signed by ${trusted} (${code}); set REDIS_CA_FILE to the CA that signs it`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `presented a certificate that does not name ${host}; set REDIS_HOST to a name it covers, or reissue it`;
  }
  if (OUT_OF_DATE.has(code)) return `presented a certificate out of its validity dates (${code}); renew it`;
  return undefined;
}

/** Whether one side speaks TLS and the other plain text, judged from the first attempt; undefined if not. */
async function tlsMismatchOf(error: Error, connected: boolean, settings: RedisSettings): Promise<string | undefined> {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!settings.tls) {
    // A TLS-only Redis drops a plain-text client at its first bytes, without a word.
    if (!connected) return undefined;
    return 'closed the connection without answering, as a TLS-only Redis does to plain text; set REDIS_TLS=true';
  }
  // A TLS hello sent to a plain-text Redis goes unanswered (a timeout), or draws a plain-text error (an SSL error).
  const handshakeFailed = code.startsWith('ERR_SSL_');
  if (!handshakeFailed && code !== 'ETIMEDOUT' && code !== 'ECONNRESET') return undefined;
  if (await answersInPlainText(settings)) {
    return 'answers in plain text, not TLS; set REDIS_PORT to its TLS port, or REDIS_TLS=false if it has none';
  }
  return handshakeFailed ? `failed the TLS handshake (${code}); check REDIS_HOST, REDIS_PORT and REDIS_TLS` : undefined;
}

/** Asks in plain text, without credentials: a plain-text Redis answers (+PONG or -NOAUTH), a TLS one does not. */
function answersInPlainText({ host, port, connectTimeoutMs }: RedisSettings): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: connectTimeoutMs });
    const settle = (plain: boolean) => {
      socket.destroy();
      resolve(plain);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => settle(/^[+-]/.test(chunk.toString('latin1'))));
    for (const end of ['timeout', 'error', 'close']) socket.once(end, () => settle(false));
  });
}
