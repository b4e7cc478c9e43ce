import { readFileSync } from 'node:fs';
import type { Problem } from './config-error.js';
import { isLoopbackHost } from './loopback.js';
import { DEVELOPMENT_JWT_SECRET } from './schema.js';
import { secretWeakness } from './secret-strength.js';
import type { Settings } from './settings.js';
import { SETTINGS, settingByKey, valueAt } from './settings.js';

// Rules that look at more than one value at a time, or at what a value means rather than its form. Consistency
// rules hold everywhere; production rules are the checklist's sections 1 to 3, refusing development values.

const PRODUCTION_LOG_LEVELS = new Set(['warn', 'error', 'fatal']);

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
  const host = valueAt(settings, key) as string;
  if (!isLoopbackHost(host)) return [];
  return [problem(key, `is "${host}", a loopback address`, 'set the service name or address the API reaches')];
}

function requiredSecret(settings: Settings, key: 'database.password' | 'redis.password'): Problem[] {
  if (valueAt(settings, key) !== '') return [];
  return [
    problem(key, 'is required in production', `put it in a secret file and point ${settingByKey(key)?.env}_FILE at it`),
  ];
}

/** A CA file named in the settings must hold a certificate now, not fail on the first connection later. */
function caFile(settings: Settings, key: 'database.caFile' | 'redis.caFile'): Problem[] {
  const path = valueAt(settings, key) as string;
  if (path === '') return [];
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return [problem(key, `names ${path}, which ${reason}`, "point it at the platform's CA certificate (tls/ca.crt)")];
  }
  if (content.includes('-----BEGIN CERTIFICATE-----')) return [];
  return [
    problem(key, `names ${path}, which holds no PEM certificate`, 'give the CA certificate, not a key or a bundle'),
  ];
}

/** Checklist 3.2 and 3.3: both data services over TLS that checks who answers, never in clear. */
function verifiedDataLinks(settings: Settings): Problem[] {
  const problems: Problem[] = [];
  const { sslMode } = settings.database;
  if (sslMode !== 'verify-full') {
    const what = sslMode === 'disable' ? 'sends queries and passwords in clear' : 'encrypts but trusts any server';
    problems.push(problem('database.sslMode', `is ${sslMode}, which ${what}`, 'set DATABASE_SSL_MODE=verify-full'));
  }
  if (!settings.redis.tls) {
    problems.push(
      problem('redis.tls', 'is off, so tokens and passwords cross the network in clear', 'set REDIS_TLS=true'),
    );
  }
  return problems;
}

const GENERATE = 'replace it with a generated one (README.md, "Rotating a secret")';

/** Every secret must look machine-made: not a placeholder, long enough, varied enough, and used for one purpose. */
function secretStrength(settings: Settings): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const { key } of SETTINGS.filter((setting) => setting.sensitive)) {
    const value = valueAt(settings, key);
    if (typeof value !== 'string' || value === '') continue;
    const weakness = value === DEVELOPMENT_JWT_SECRET ? 'is the development default' : secretWeakness(key, value);
    if (weakness) problems.push(problem(key, weakness, GENERATE));
    const sharedWith = seen.get(value);
    // One secret, one purpose: a leak of one must not open the other.
    if (sharedWith) problems.push(problem(key, `has the same value as ${sharedWith}`, 'give each its own secret'));
    else seen.set(value, key);
  }
  return problems;
}

function insecureExtras(settings: Settings): Problem[] {
  const problems: Problem[] = [];
  if (settings.log.pretty) problems.push(problem('log.pretty', 'is on, a development aid', 'set LOG_PRETTY=false'));
  if (!settings.cookies.secure) {
    problems.push(
      problem('cookies.secure', 'is off, so cookies would travel over plain HTTP', 'set COOKIE_SECURE=true'),
    );
  }
  if (settings.cookies.sameSite === 'none') {
    const fix = 'use strict (or lax where another site must link in with the cookie)';
    problems.push(problem('cookies.sameSite', 'is none, which sends cookies on cross-site requests', fix));
  }
  if (settings.cors.allowedOrigins.includes('*')) {
    const fix = 'list the exact origins of the web apps that call the API';
    problems.push(problem('cors.allowedOrigins', 'contains the wildcard *', fix));
  }
  const local = settings.cors.allowedOrigins.filter(
    (origin) => origin !== '*' && isLoopbackHost(new URL(origin).hostname),
  );
  if (local.length) {
    const fix = 'remove development origins from production';
    problems.push(problem('cors.allowedOrigins', `contains origins on this machine: ${local.join(', ')}`, fix));
  }
  const everyone = settings.server.trustedProxies.filter((proxy) => /^(0\.0\.0\.0\/0|::\/0|\*)$/.test(proxy));
  if (everyone.length) {
    const fix = "name the proxy's own address or network, e.g. the compose network's range";
    problems.push(problem('server.trustedProxies', `trusts every address (${everyone.join(', ')})`, fix));
  }
  return problems;
}

/**
 * Infisical's client secret and every secret it returns cross this link: HTTPS whenever it leaves the machine or
 * the platform's own internal network (plain HTTP only to this machine or a single-label service name).
 */
function secretManagerLink(settings: Settings): Problem[] {
  const { provider, infisical } = settings.secrets;
  if (provider !== 'infisical' || infisical.siteUrl === '') return [];
  const url = new URL(infisical.siteUrl);
  const local = isLoopbackHost(url.hostname) || !url.hostname.includes('.');
  if (url.protocol === 'https:' || local) return [];
  const fix = 'use https://, or the Infisical service name on the internal network';
  return [problem('secrets.infisical.siteUrl', 'would send secrets in clear across a network', fix)];
}

/**
 * A user name or password inside the Infisical URL would be printed wherever the settings are (the URL is no
 * secret), and Infisical ignores it anyway: the machine identity logs in with its client id and secret.
 */
function secretManagerUrlCredentials(settings: Settings): Problem[] {
  const { siteUrl } = settings.secrets.infisical;
  if (siteUrl === '') return [];
  const url = new URL(siteUrl);
  if (url.username === '' && url.password === '') return [];
  const fix = 'remove them from the URL; Infisical logs in with INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET_FILE';
  return [problem('secrets.infisical.siteUrl', 'holds a user name or password', fix)];
}

/** What Infisical cannot be reached without; loadSettings does not try to connect while one is missing. */
export const INFISICAL_COORDINATES = ['siteUrl', 'clientId', 'clientSecret', 'projectId', 'environment'] as const;

/** Infisical needs all of its coordinates, in every environment, or the boot fails later and less clearly. */
function secretProvider(settings: Settings): Problem[] {
  if (settings.secrets.provider !== 'infisical') return [];
  return INFISICAL_COORDINATES.filter((name) => settings.secrets.infisical[name] === '').map((name) => {
    const key = `secrets.infisical.${name}`;
    return problem(key, 'is required when SECRETS_PROVIDER=infisical', `set ${settingByKey(key)?.env}`);
  });
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
  const problems = [
    ...tokenLifetimes(settings),
    ...secretProvider(settings),
    ...secretManagerUrlCredentials(settings),
    ...caFile(settings, 'database.caFile'),
    ...caFile(settings, 'redis.caFile'),
  ];
  if (settings.environment !== 'production') return problems;
  return [
    ...problems,
    ...verifiedDataLinks(settings),
    ...loopbackHost(settings, 'database.host'),
    ...loopbackHost(settings, 'redis.host'),
    ...requiredSecret(settings, 'database.password'),
    ...requiredSecret(settings, 'redis.password'),
    ...secretStrength(settings),
    ...logLevel(settings),
    ...reload(settings),
    ...insecureExtras(settings),
    ...secretManagerLink(settings),
  ];
}
