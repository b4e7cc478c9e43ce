import cors from '@fastify/cors';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * Response headers for a JSON API: a CSP that allows nothing to load or frame it, no HSTS here (nginx sets it on
 * HTTPS only; the API itself speaks plain HTTP on the internal network), and CORS for the configured origins only.
 */
export async function registerSecurityHeaders(app: FastifyInstance, settings: Settings): Promise<void> {
  // helmet itself, built once. (@fastify/helmet builds a new helmet, re-parsing this configuration, for every
  // request: a tenth of the API's CPU under load, measured in BENCHMARKS.md.)
  const setHeaders = helmet({
    contentSecurityPolicy: {
      // Helmet's defaults are for HTML pages and include upgrade-insecure-requests; a JSON API needs none of them.
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    hsts: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
    // Headers that only mean something for HTML documents a browser renders; a JSON API sends none of them.
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  app.addHook('onRequest', (request, reply, done) =>
    setHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined)),
  );

  // An origin not on the list gets no Access-Control-* header at all, so the browser keeps the answer from it.
  // (A list given to @fastify/cors would still send Access-Control-Allow-Credentials to everyone; deciding per
  // request here sends nothing at all to an origin not listed.)
  const allowed = new Set(settings.cors.allowedOrigins);
  await app.register(cors, {
    origin: (origin, decide) => decide(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  });
}
