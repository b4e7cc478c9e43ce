import type { Problem } from './config-error.js';
import { isLoopbackHost } from './loopback.js';
import { DEVELOPMENT_JWT_SECRET } from './schema.js';
import type { Settings } from './settings.js';
import { settingByKey } from './settings.js';

// Rules that look at more than one value at a time, or at what a value means rather than its form. Consistency
// rules hold everywhere; production rules are the checklist's sections 1 to 3, refusing development values.
// Issue #3 adds the rest (verified database TLS, CORS, cookies, secret entropy and reuse).

const PRODUCTION_LOG_LEVELS = new Set(['warn', 'error', 'fatal']);
export const MIN_SECRET_LENGTH = 32;

function problem(key: string, message: string, fix: string): Problem {
  const env = settingByKey(key)?.env ?? key;
  return { key, env, message, fix };
}

// A stolen token works until it expires: lifetimes are capped, and an access token outliving its refresh token
// would make refresh pointless.
export const MAX_ACCESS_TTL_SECONDS = 24 * 3600;
export const MAX_REFRESH_TTL_SECONDS = 90 * 24 * 3600;

function tokenLifetimes(settings: Settings): Problem[] {
  const { accessTtlSeconds: access, refreshTtlSeconds: refresh } = settings.jwt;
  const problems: Problem[] = [];
  if (access > MAX_ACCESS_TTL_SECONDS) {
    problems.push(
      problem('jwt.accessTtlSeconds', `is ${access} s, over a day`, `use at most ${MAX_ACCESS_TTL_SECONDS}`),
    );
  } else if (access >= refresh) {
    const message = `(${access} s) is not shorter than the refresh token lifetime (${refresh} s)`;
    problems.push(problem('jwt.accessTtlSeconds', message, 'make access tokens short-lived and refresh tokens longer'));
  }
  if (refresh > MAX_REFRESH_TTL_SECONDS) {
    const fix = `use at most ${MAX_REFRESH_TTL_SECONDS}`;
    problems.push(problem('jwt.refreshTtlSeconds', `is ${refresh} s, over 90 days`, fix));
  }
  return problems;
}

function loopbackHost(settings: Settings, key: 'database.host' | 'redis.host'): Problem[] {
  const host = key === 'database.host' ? settings.database.host : settings.redis.host;
  if (!isLoopbackHost(host)) return [];
  return [problem(key, `is "${host}", a loopback address`, 'set the service name or address the API reaches')];
}

function requiredSecret(settings: Settings, key: 'database.password' | 'redis.password'): Problem[] {
  const value = key === 'database.password' ? settings.database.password : settings.redis.password;
  if (value !== '') return [];
  return [
    problem(key, 'is required in production', `put it in a secret file and point ${settingByKey(key)?.env}_FILE at it`),
  ];
}

function jwtSecret(settings: Settings): Problem[] {
  const secret = settings.jwt.secret;
  if (secret === DEVELOPMENT_JWT_SECRET) {
    return [problem('jwt.secret', 'is the development default', 'generate a new secret for this deployment')];
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    return [problem('jwt.secret', `is shorter than ${MIN_SECRET_LENGTH} characters`, 'generate a longer secret')];
  }
  return [];
}

function logLevel(settings: Settings): Problem[] {
  if (PRODUCTION_LOG_LEVELS.has(settings.log.level)) return [];
  return [problem('log.level', `is "${settings.log.level}", which logs too much for production`, 'use warn or error')];
}

function reload(settings: Settings): Problem[] {
  if (!settings.server.reload) return [];
  return [problem('server.reload', 'is on', 'set RELOAD=false; production never reloads on file changes')];
}

/** Every way these settings contradict each other or, in production, break the checklist. */
export function checkRules(settings: Settings): Problem[] {
  const problems = tokenLifetimes(settings);
  if (settings.environment !== 'production') return problems;
  return [
    ...problems,
    ...loopbackHost(settings, 'database.host'),
    ...loopbackHost(settings, 'redis.host'),
    ...requiredSecret(settings, 'database.password'),
    ...requiredSecret(settings, 'redis.password'),
    ...jwtSecret(settings),
    ...logLevel(settings),
    ...reload(settings),
  ];
}
