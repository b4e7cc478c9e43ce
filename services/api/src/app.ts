import { randomUUID } from 'node:crypto';
import type { Settings } from '@pdpl/config';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { KeyRing } from './auth/key-ring.js';
import { LoginAttempts } from './auth/login-attempts.js';
import { Passwords } from './auth/passwords.js';
import { RevocationMirror } from './auth/revocation-mirror.js';
import { SessionStore } from './auth/sessions.js';
import { TokenService } from './auth/tokens.js';
import { createPool } from './db/pool.js';
import { UserStore } from './db/users.js';
import { registerErrorHandlers } from './http/error-handler.js';
import { ApiError, errorBody } from './http/errors.js';
import { loggerOptions } from './http/logger.js';
import { registerMetrics } from './http/metrics.js';
import { registerRateLimits } from './http/rate-limits.js';
import { ANSWER_HEADERS, registerSecurityHeaders } from './http/security-headers.js';
import { connectRedis, createRedis } from './redis-client.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { meRoutes } from './routes/me.js';

const REQUEST_ID = /^[\w-]{8,128}$/;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Uses the secrets of these settings from now on (a rotation in the secret manager): the token keys at once,
     * the database and Redis passwords for every new connection. Nothing else of the settings changes.
     */
    applySecrets(settings: Settings): void;
  }
}

export interface AppOptions {
  /** Where log lines go; standard output when left out. Tests pass a stream to read them. */
  readonly logStream?: NodeJS.WritableStream;
}

/** The whole API, wired to PostgreSQL and Redis from the settings. Listening is the caller's job. */
export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<FastifyInstance> {
  const log: Logger = options.logStream
    ? pino(loggerOptions(settings), options.logStream)
    : pino(loggerOptions(settings));
  // The settings whose secrets are in use; applySecrets replaces them.
  let current = settings;
  const db = createPool(settings, log, () => current.database.password);
  const redis = createRedis(settings, log);
  const mirror = new RevocationMirror(redis, log);

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: settings.server.bodyLimitBytes,
    // Behind nginx: the client's address and scheme come from X-Forwarded-For/-Proto, believed from these only.
    trustProxy: settings.server.trustedProxies.length ? settings.server.trustedProxies : false,
    // nginx sets X-Request-Id; keep it when it looks like one so a request can be followed across both logs.
    genReqId: (request) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Errors raised before routing (a malformed URL, say) get the catalogue answer too, not Fastify's own.
    frameworkErrors: (error, request, reply) => {
      const detail = { field: 'url', problem: 'is not a valid URL' };
      request.log.info({ code: error.code }, 'request refused before routing');
      // The option's reply type is generic over every route's schema; this answer belongs to no route.
      const untyped = reply as unknown as FastifyReply;
      // Refused before any hook runs: the answer's headers are set here.
      untyped.headers(ANSWER_HEADERS).header('x-request-id', request.id);
      untyped.status(400).send(errorBody(new ApiError('VALIDATION_FAILED', [detail]), request.id));
    },
  });

  // Fastify parses text/plain by default; the API speaks JSON only, so anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // Many clients label a POST without a body as JSON (logout, a cookie refresh): no body is no body, not an error.
  // Anything else goes to Fastify's own parser, which refuses prototype poisoning.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );
  app.addHook('onClose', async () => {
    mirror.stop();
    // quit() waits for a reply and would hang on a Redis that is down; disconnect() also stops reconnecting.
    const closeRedis = redis.status === 'ready' ? redis.quit() : Promise.resolve(redis.disconnect());
    await Promise.allSettled([db.end(), closeRedis]);
  });
  registerErrorHandlers(app);

  await registerSecurityHeaders(app, settings);
  await registerRateLimits(app, settings, redis);
  if (settings.telemetry.metricsEnabled) await registerMetrics(app);

  const users = new UserStore(db);
  const tokens = new TokenService(settings);
  const sessions = new SessionStore(redis, settings.jwt.refreshTtlSeconds, mirror);
  const passwords = new Passwords(settings);
  const { loginFailuresBeforeBackoff, authWindowSeconds } = settings.rateLimit;
  const attempts = new LoginAttempts(redis, loginFailuresBeforeBackoff, authWindowSeconds);
  await app.register(healthRoutes, { db, redis });
  await app.register(authRoutes, { settings, users, tokens, sessions, passwords, attempts });
  await app.register(meRoutes, { users, tokens, sessions });

  app.decorate('applySecrets', (next: Settings) => {
    current = next;
    tokens.useKeys(KeyRing.fromSettings(next));
    redis.options.password = next.redis.password || undefined;
    mirror.useRedisPassword(next.redis.password);
  });

  await passwords.prepareDecoy();
  try {
    await connectRedis(redis, settings.redis, log);
  } catch (error) {
    // Redis refused the API: nothing may stay open behind the refused start, so the process can exit.
    await app.close();
    throw error;
  }
  mirror.start();
  return app;
}
