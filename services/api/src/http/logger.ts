import type { Settings } from '@pdpl/config';
import { REDACTED } from '@pdpl/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

// Request logs carry an allow-list of fields only: never headers, cookies, bodies, query strings or tokens,
// any of which may hold personal data or credentials.
export function loggerOptions(settings: Settings): LoggerOptions {
  return {
    level: settings.log.level,
    base: { service: 'api' },
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'accessToken', 'refreshToken', 'authorization'],
      censor: REDACTED,
    },
    serializers: {
      req: (request: FastifyRequest) => ({
        id: request.id,
        method: request.method,
        route: request.routeOptions?.url ?? 'unmatched',
      }),
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
    },
  };
}
