import { execFile } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// Drives the compose stack exactly as an operator does, through the npm scripts, in a project of its own
// (own containers, volumes and ports) so it never touches a stack started with `npm run up`.

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Stack {
  readonly project: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly env: NodeJS.ProcessEnv;
}

export interface StackOptions {
  /** A /24 the project's networks are carved from: each project needs its own, or two stacks up at once collide. */
  readonly subnet: string;
  /** API settings for this stack (VARIABLE=value lines of its api.env). */
  readonly apiSettings?: Record<string, string>;
}

/**
 * The compose networks' variables for a project of its own, carved from one /24 as docker-compose.yml carves its
 * default: the edge network in the lower half (nginx at .10), the data network in the upper half.
 */
export function networkVariables(subnet: string): NodeJS.ProcessEnv {
  const prefix = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(subnet)?.[1];
  if (!prefix) throw new Error(`a stack's subnet must be a /24 like 172.30.81.0/24, got ${subnet}`);
  return {
    PDPL_EDGE_SUBNET: `${prefix}.0/25`,
    PDPL_NGINX_ADDRESS: `${prefix}.10`,
    PDPL_DATA_SUBNET: `${prefix}.128/25`,
  };
}

export function e2eStack(project: string, httpPort: number, httpsPort: number, options: StackOptions): Stack {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    COMPOSE_PROJECT_NAME: project,
    // As a VM serving clients runs it: the core file with the production overlay.
    COMPOSE_FILE: 'docker-compose.yml:compose/production.yml',
    PDPL_PUBLIC_HOST: 'localhost',
    PDPL_HTTP_PORT: String(httpPort),
    PDPL_HTTPS_PORT: String(httpsPort),
    ...networkVariables(options.subnet),
  };
  if (options.apiSettings) {
    // One file per project, replaced on every run: nothing accumulates in the temporary directory.
    const dir = join(tmpdir(), `pdpl-stack-${project}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'api.env');
    const lines = Object.entries(options.apiSettings).map(([name, value]) => `${name}=${value}\n`);
    writeFileSync(file, lines.join(''));
    env.PDPL_API_ENV_FILE = file;
  }
  return { project, httpPort, httpsPort, env };
}

export async function npmScript(stack: Stack, script: string, args: string[] = [], input?: string): Promise<string> {
  const child = run('npm', ['run', '--silent', script, '--', ...args], { cwd: REPO_ROOT, env: stack.env });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

export async function compose(stack: Stack, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['compose', ...args], { cwd: REPO_ROOT, env: stack.env });
  return stdout;
}

/** Removes the project: its containers, network and volumes. */
export async function removeStack(stack: Stack): Promise<void> {
  await compose(stack, 'down', '--volumes', '--remove-orphans');
}

/** The project from scratch (what an earlier run left is removed first), brought up with one user per email. */
export async function startFresh(stack: Stack, emails: readonly string[], password: string): Promise<void> {
  await removeStack(stack);
  await npmScript(stack, 'up');
  for (const email of emails) await npmScript(stack, 'user:create', ['--email', email], `${password}\n`);
}

export interface HttpsResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export const secretsDir = process.env.PDPL_SECRETS_DIR ?? `${REPO_ROOT}.secrets`;

/**
 * A copy of the secrets directory for a stack of its own. A copy belongs to whoever made it; the containers read
 * it through the secrets group, as with the originals.
 */
export function copySecrets(target: string): string {
  cpSync(secretsDir, target, { recursive: true });
  // A copy is owned by whoever made it; give each file back the group the containers read it through.
  for (const name of readdirSync(secretsDir, { recursive: true }).map(String)) {
    chownSync(join(target, name), -1, statSync(join(secretsDir, name)).gid);
  }
  return target;
}

/** The local CA that signed the stack's server certificate: what clients verify nginx against. */
export function caOf(stack: Stack): Buffer {
  return readFileSync(`${stack.env.PDPL_SECRETS_DIR ?? secretsDir}/tls/ca.crt`);
}

export interface HttpsOptions {
  readonly token?: string;
  /** Sent as JSON; a string is sent as it is, still labelled JSON (to send what no serializer would). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** An HTTPS request that verifies the server against the platform's local CA, as a client on the host would. */
export function https(stack: Stack, method: string, path: string, options: HttpsOptions = {}) {
  const ca = caOf(stack);
  const { body } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (payload) headers['content-type'] ??= 'application/json';
  return new Promise<HttpsResponse>((resolve, reject) => {
    const req = request(
      { host: 'localhost', port: stack.httpsPort, method, path, ca, headers, servername: 'localhost' },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
