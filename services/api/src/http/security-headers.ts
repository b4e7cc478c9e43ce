import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

// Headers helmet may take away: none of them is ever set by Node.js, Fastify or this API, so there is nothing to
// remove from an answer.
const NEVER_SENT = new Set(['x-powered-by']);

/**
 * The headers helmet sets for a JSON API: a CSP that allows nothing to load or frame it, no HSTS here (nginx sets it
 * on HTTPS only; the API itself speaks plain HTTP on the internal network). None depends on the request, so helmet
 * runs once, at start, and every answer gets its result: running its middleware for each answer repeated the same
 * work (3% of the API's CPU in BENCHMARKS.md's profile).
 */
function helmetHeaders(): Readonly<Record<string, string>> {
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

  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      if (!NEVER_SENT.has(name.toLowerCase())) throw new Error(`helmet removes ${name}, which a request may carry`);
    },
  };
  let finished = false;
  setHeaders({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // A helmet that waited for something, or read the request, could not be run once for every answer.
  if (!finished) throw new Error('helmet did not set its headers at once');
  return Object.freeze(headers);
}

/**
 * The headers of every answer but its request id: helmet's, and no caching, since answers carry personal data and
 * no cache, browser or proxy, may keep one (OWASP REST guidance).
 */
export const ANSWER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...helmetHeaders(),
  'cache-control': 'no-store',
});

/**
 * Every answer's headers: ANSWER_HEADERS and the request id. CORS for the configured origins only.
 */
export async function registerSecurityHeaders(app: FastifyInstance, settings: Settings): Promise<void> {
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(ANSWER_HEADERS).header('x-request-id', request.id);
    done();
  });

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
