import Fastify from 'fastify';
import { serveToParent } from './serve-to-parent.ts';

// Target 1: the least a Fastify route can do, the yardstick the API's own routes are measured against.

const app = Fastify({ logger: false });
app.get('/bare', async () => ({ ok: true }));
await serveToParent(app);
