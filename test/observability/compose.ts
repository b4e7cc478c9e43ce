import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from '../e2e/compose-stack.ts';

// The observability overlay as Compose renders it (no engine needed, only the CLI), and the repository's files
// parsed, for the tests of each service's configuration.

const run = promisify(execFile);

export const OVERLAY_FILES = ['docker-compose.yml', 'compose/observability.yml'];

export interface Mount {
  readonly type: string;
  readonly source?: string;
  readonly target: string;
  readonly read_only?: boolean;
}

export interface RenderedService {
  readonly image?: string;
  readonly user?: string;
  readonly command?: readonly string[];
  readonly environment?: Record<string, string | null>;
  readonly secrets?: readonly { readonly source: string; readonly target?: string }[];
  readonly volumes?: readonly Mount[];
  readonly networks?: Record<string, unknown>;
  readonly ports?: readonly unknown[];
  readonly cap_add?: readonly string[];
  readonly healthcheck?: { readonly test?: readonly string[] };
  readonly logging?: { readonly options?: Record<string, string> };
}

export interface Rendered {
  readonly services: Record<string, RenderedService>;
  readonly networks: Record<string, { readonly internal?: boolean }>;
  readonly secrets: Record<string, { readonly file?: string }>;
}

/** docker-compose.yml with the overlay and its profile, free of the shell's COMPOSE_ and PDPL_ variables. */
export async function renderedOverlay(): Promise<Rendered> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(COMPOSE_|PDPL_)/.test(name))),
  };
  const args = ['compose', ...OVERLAY_FILES.flatMap((file) => ['-f', file]), '--profile', 'observability'];
  const { stdout } = await run('docker', [...args, 'config', '--format', 'json'], { cwd: REPO_ROOT, env });
  return JSON.parse(stdout);
}

/** A service of the rendered overlay; a clear failure when the overlay lost it. */
export function service(config: Rendered, name: string): RenderedService {
  const found = config.services[name];
  if (!found) throw new Error(`compose/observability.yml renders no service ${name}: ${Object.keys(config.services)}`);
  return found;
}

/** The mount of a service at a container path; a clear failure when there is none. */
export function mountAt(config: Rendered, name: string, target: string): Mount {
  const mount = service(config, name).volumes?.find((candidate) => candidate.target === target);
  if (!mount) throw new Error(`${name} mounts nothing at ${target}`);
  return mount;
}

/** A YAML file of the repository, parsed. */
export function repoYaml<T>(path: string): T {
  return parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as T;
}

/** Whether a path is the folder or under it. */
export const isUnder = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
