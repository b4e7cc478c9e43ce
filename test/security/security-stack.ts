import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createSigner } from 'fast-jwt';
import { keyIdOf } from '../../services/api/src/auth/key-ring.ts';
import type { HttpsOptions, Stack } from '../e2e/compose-stack.ts';
import { caOf, e2eStack, https, REPO_ROOT, removeStack, secretsDir, startFresh } from '../e2e/compose-stack.ts';

// The stack the security suite attacks: its own compose project, an allowed CORS origin, and budgets small enough
// to reach in a test but large enough for the suite's own logins from the host.

const run = promisify(execFile);
const VERSION = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')).version;

export const ALLOWED_ORIGIN = 'https://app.example.test';
export const AUTH_MAX = 80;
export const LOGIN_FAILURES = 3;

export const stack: Stack = e2eStack('pdpl-security', 19080, 19443, {
  subnet: '172.30.84.0/24',
  apiSettings: {
    CORS_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    RATE_LIMIT_AUTH_MAX: String(AUTH_MAX),
    RATE_LIMIT_LOGIN_FAILURES: String(LOGIN_FAILURES),
  },
});

export const up = (users: readonly string[], password: string) => startFresh(stack, users, password);
export const down = () => removeStack(stack);

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  readonly json: any;
  readonly text: string;
}

/** A request through nginx over TLS, its body parsed when it is JSON. */
export async function send(method: string, path: string, options: HttpsOptions = {}): Promise<Answer> {
  const response = await https(stack, method, path, options);
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text: response.body };
}

export const login = (email: string, password: string, extra: object = {}) =>
  send('POST', '/v1/auth/login', { body: { email, password, refreshTransport: 'body', ...extra } });

/** The stack's real signing key, as only someone holding the secret files has it. */
export function signingKey(): string {
  return readFileSync(`${secretsDir}/jwt_secret`, 'utf8');
}

/** A token signed with `key` (HS256 unless told), naming `kid` (the real key's id unless told). */
export function forge(claims: object, key = signingKey(), kid = keyIdOf(signingKey())): string {
  return createSigner({ key, kid, algorithm: 'HS256' })(claims);
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
}

export interface NetworkClient {
  /** Failed login attempts (unknown emails under `prefix`), six at a time; each attempt's status. */
  failedLogins(prefix: string, attempts: number, headers?: Record<string, string>): Promise<number[]>;
  stop(): Promise<void>;
}

const ATTEMPTS_SCRIPT = `
const https = require('node:https');
const [prefix, attempts, headers] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3])];
const attempt = (i) => new Promise((resolve) => {
  const body = JSON.stringify({ email: prefix + '-' + i + '@example.com', password: 'not the password' });
  const req = https.request({ host: 'nginx', port: 8443, servername: 'localhost', ca: process.env.CA,
    method: 'POST', path: '/v1/auth/login', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', (error) => resolve('error: ' + error.message));
  req.end(body);
});
(async () => {
  const statuses = [];
  for (let i = 0; i < attempts; i += 6) {
    const batch = [];
    for (let j = i; j < Math.min(i + 6, attempts); j++) batch.push(attempt(j));
    statuses.push(...(await Promise.all(batch)));
  }
  console.log(JSON.stringify(statuses));
})();`;

/**
 * A client on the stack's network, in a container of its own, so it reaches nginx from an address of its own (from
 * the host, every client looks like the Docker gateway). Clients alive at the same time never share an address.
 */
export async function networkClient(): Promise<NetworkClient> {
  const ca = caOf(stack).toString('utf8');
  const network = `${stack.project}_edge`;
  const { stdout } = await run('docker', [
    'run',
    '--detach',
    '--rm',
    '--network',
    network,
    '--env',
    `CA=${ca}`,
    `pdpl/api:${VERSION}`,
    'sleep',
    'infinity',
  ]);
  const id = stdout.trim();
  return {
    async failedLogins(prefix, attempts, headers = {}) {
      const args = ['exec', id, 'node', '-e', ATTEMPTS_SCRIPT, prefix, String(attempts), JSON.stringify(headers)];
      return JSON.parse((await run('docker', args)).stdout);
    },
    async stop() {
      await run('docker', ['rm', '--force', id]);
    },
  };
}
