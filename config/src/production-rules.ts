import type { Problem } from './config-error.js';
import { DEVELOPMENT_JWT_SECRET } from './schema.js';
import type { Settings } from './settings.js';
import { settingByKey } from './settings.js';

// The checklist's sections 1 to 3 as rules: a production deployment refuses to boot with development values.
// Issue #3 adds the rest (verified database TLS, CORS, cookies, secret entropy and reuse).

const LOOPBACK_HOSTS = /^(localhost|localhost\.localdomain|127(\.\d{1,3}){3}|::1|\[::1\]|0:0:0:0:0:0:0:1)$/i;
const PRODUCTION_LOG_LEVELS = new Set(['warn', 'error', 'fatal']);
export const MIN_SECRET_LENGTH = 32;

function problem(key: string, message: string, fix: string): Problem {
  const env = settingByKey(key)?.env ?? key;
  return { key, env, message, fix };
}

function loopbackHost(settings: Settings, key: 'database.host' | 'redis.host'): Problem[] {
  const host = key === 'database.host' ? settings.database.host : settings.redis.host;
  if (!LOOPBACK_HOSTS.test(host)) return [];
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

/** Every way these settings break the production checklist; empty when they are fit for production. */
export function checkProductionRules(settings: Settings): Problem[] {
  return [
    ...loopbackHost(settings, 'database.host'),
    ...loopbackHost(settings, 'redis.host'),
    ...requiredSecret(settings, 'database.password'),
    ...requiredSecret(settings, 'redis.password'),
    ...jwtSecret(settings),
    ...logLevel(settings),
    ...reload(settings),
  ];
}
