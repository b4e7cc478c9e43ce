import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { UNLIMITED } from './rate-limits.js';

/**
 * Prometheus metrics at GET /metrics: request counts and latencies by route and status, and the process's own
 * (memory, event-loop lag). nginx never forwards /metrics; Prometheus scrapes the API on the internal network.
 */
export async function registerMetrics(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  // Each app its own registry (never prom-client's global one), so two instances in one process never clash.
  const registers = [registry];
  // One histogram: its _count series is the number of requests, so no separate counter is kept per request.
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by method, route and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  // One series per method, route and status, looked up by a string rather than hashed from labels every time.
  const series = new Map<string, ReturnType<typeof duration.labels>>();
  app.addHook('onResponse', (request, reply, done) => {
    // The route's pattern, never the raw URL: ids in paths would make a series per user.
    const route = request.routeOptions.url ?? 'unmatched';
    const name = `${request.method} ${route} ${reply.statusCode}`;
    let observer = series.get(name);
    if (!observer) {
      observer = duration.labels(request.method, route, String(reply.statusCode));
      series.set(name, observer);
    }
    observer.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { config: UNLIMITED }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
