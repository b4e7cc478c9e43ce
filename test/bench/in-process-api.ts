import { randomBytes } from 'node:crypto';
import type { DataServices } from '../../services/api/test/integration/data-services.ts';
import { startDataServices } from '../../services/api/test/integration/data-services.ts';
import type { ChildServer } from './child-server.ts';
import { startChildServer } from './child-server.ts';
import type { Cleanup } from './cleanup.ts';
import type { Answer } from './log-in.ts';
import { logIn } from './log-in.ts';

// Targets 2 and 3: the API in a child process, on PostgreSQL and Redis in containers of the platform's own images,
// with a migrated schema and one user.

const API_SERVER = new URL('./api-server.ts', import.meta.url);
const EMAIL = 'bench@example.com';

/** Limits high enough never to refuse the bench, so the limiter does all its work and no request is a 429. */
export const UNREFUSING_RATE_LIMITS = { max: '1000000000', authMax: '1000' } as const;

export interface InProcessApi {
  readonly server: ChildServer;
  /** Logs the bench user in; the access token for GET /v1/me. */
  logIn(): Promise<string>;
  stop(): Promise<void>;
}

function apiEnvironment(services: DataServices): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    // TLS to both, verified against the platform's CA, as in production. Through the published ports: the
    // certificates name localhost, not the containers' bridge addresses. On the measured routes only the rate-limit
    // flush (every 100 ms) and /v1/me's one query cross that link.
    ...services.env,
    // Production's level (see docker-compose.yml): request logs are off, as they are there.
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    RATE_LIMIT_MAX: UNREFUSING_RATE_LIMITS.max,
    RATE_LIMIT_AUTH_MAX: UNREFUSING_RATE_LIMITS.authMax,
  };
}

async function postJson(baseUrl: string, path: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

export async function startInProcessApi(cleanup: Cleanup): Promise<InProcessApi> {
  const services = await startDataServices();
  const stopServices = cleanup.add('the PostgreSQL and Redis containers', () => services.stop());
  await services.migrate();
  const password = randomBytes(18).toString('base64url');
  await services.createUser(EMAIL, password);

  const server = await startChildServer('api', API_SERVER, apiEnvironment(services));
  const stopServer = cleanup.add('the api child process', () => server.stop());

  return {
    server,
    logIn: () => logIn((path, body) => postJson(server.url, path, body), EMAIL, password),
    async stop() {
      await stopServer();
      await stopServices();
    },
  };
}
