import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The rules every service of every compose combination is held to (issue #6), over the output of
// `docker compose config --format json`: the file as Compose itself understands it, anchors and overlays merged.

/** The subset of `docker compose config --format json` the rules read. */
export interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  readonly user?: string;
  readonly restart?: string;
  readonly healthcheck?: { readonly test?: readonly string[]; readonly disable?: boolean };
  readonly deploy?: { readonly resources?: { readonly limits?: Record<string, unknown> } };
  readonly security_opt?: readonly string[];
  readonly cap_drop?: readonly string[];
  readonly cap_add?: readonly string[];
  readonly read_only?: boolean;
  readonly logging?: { readonly driver?: string; readonly options?: Record<string, string> };
  readonly ports?: readonly { readonly target: number; readonly published?: string; readonly host_ip?: string }[];
  readonly environment?: Record<string, string | null>;
  readonly networks?: Record<string, unknown>;
  readonly depends_on?: Record<string, { readonly condition?: string }>;
}

export interface ComposeConfig {
  readonly services: Record<string, ComposeService>;
  readonly networks?: Record<string, { readonly internal?: boolean }>;
  readonly secrets?: Record<string, { readonly file?: string; readonly environment?: string }>;
}

export interface PolicyOptions {
  /** The platform's version (package.json): the tag of the images it builds. */
  readonly version: string;
  /** The services that may publish ports on the host, and the container ports they may publish. */
  readonly edge: Record<string, readonly number[]>;
  /** Images whose services must sit on internal networks only (the data services). */
  readonly internalOnlyImages: readonly RegExp[];
  /** The platform's own settings by variable, and whether each is a secret (the config schema's `sensitive`). */
  readonly platformSettings: ReadonlyMap<string, boolean>;
}

// Names that hold a secret in another program's settings (the platform's own say so in its schema), unless they
// end in _FILE: a path to one.
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|(^|_)KEY($|_)|AUTH$/i;
// A URL with a password in it: user:password@host.
const CREDENTIALS_IN_URL = /\/\/[^/@\s]*:[^/@\s]+@/;
// An exact version: a digit after an optional v, never a moving tag; a digest may follow.
const PINNED_TAG = /:v?\d[\w.+-]*(@sha256:[0-9a-f]{64})?$/;
const REQUIRED_LIMITS = ['cpus', 'memory', 'pids'];

/** One-shot jobs: another service waits for them to complete. Their exit code is their health. */
function oneShots(config: ComposeConfig): Set<string> {
  const names = new Set<string>();
  for (const service of Object.values(config.services)) {
    for (const [name, dependency] of Object.entries(service.depends_on ?? {})) {
      if (dependency.condition === 'service_completed_successfully') names.add(name);
    }
  }
  return names;
}

/** The user the image's last stage runs as, from its Dockerfile ('' when it names none: root). */
export function dockerfileUser(build: NonNullable<ComposeService['build']>): string {
  const text = readFileSync(join(build.context, build.dockerfile ?? 'Dockerfile'), 'utf8');
  const lastStage = text.split(/^FROM\s/im).at(-1) ?? '';
  const users = [...lastStage.matchAll(/^USER\s+(\S+)/gim)].map((match) => match[1]);
  return users.at(-1) ?? '';
}

const isRoot = (user: string) => user === '' || /^(root|0)(:|$)/.test(user);

function imageProblems(service: ComposeService, options: PolicyOptions): string[] {
  const image = service.image ?? '';
  if (service.build) {
    const ours = new RegExp(`^pdpl/[a-z0-9-]+:${options.version.replaceAll('.', '\\.')}$`);
    return ours.test(image) ? [] : [`builds image "${image}", not pdpl/<name>:${options.version}`];
  }
  return PINNED_TAG.test(image) ? [] : [`runs image "${image}", which is not pinned to an exact version`];
}

function runtimeProblems(name: string, service: ComposeService, oneShot: boolean): string[] {
  const problems: string[] = [];
  const health = service.healthcheck;
  if (!oneShot && (!health?.test?.length || health.disable || health.test[0] === 'NONE')) {
    problems.push('has no healthcheck');
  }
  const restarts = oneShot ? ['no', 'on-failure'] : ['always', 'unless-stopped'];
  if (!restarts.includes(service.restart ?? '')) {
    problems.push(`restarts "${service.restart ?? 'never (unset)'}", not one of ${restarts.join(', ')}`);
  }
  const limits = service.deploy?.resources?.limits ?? {};
  const missing = REQUIRED_LIMITS.filter((limit) => limits[limit] === undefined || limits[limit] === null);
  if (missing.length) problems.push(`has no ${missing.join(', ')} limit`);
  if (!service.security_opt?.includes('no-new-privileges:true')) problems.push('lacks no-new-privileges');
  if (!service.cap_drop?.includes('ALL')) problems.push('does not drop all capabilities');
  if (service.cap_add?.length) problems.push(`adds capabilities back: ${service.cap_add.join(', ')}`);
  if (service.read_only !== true) problems.push('has a writable root filesystem');
  const user = service.user ?? (service.build ? dockerfileUser(service.build) : '');
  if (isRoot(user)) problems.push(`runs as root (user "${user}")`);
  const { driver, options = {} } = service.logging ?? {};
  if (driver !== 'json-file' || !options['max-size'] || !options['max-file']) {
    problems.push('logs are not json-file bounded by max-size and max-file');
  }
  return problems.map((problem) => `${name} ${problem}`);
}

function exposureProblems(name: string, service: ComposeService, config: ComposeConfig, options: PolicyOptions) {
  const problems: string[] = [];
  const allowed = options.edge[name] ?? [];
  for (const port of service.ports ?? []) {
    if (!allowed.includes(port.target)) problems.push(`${name} publishes container port ${port.target}`);
  }
  for (const [variable, value] of Object.entries(service.environment ?? {})) {
    const secret = options.platformSettings.get(variable) ?? SECRET_NAME.test(variable);
    if (!variable.endsWith('_FILE') && secret) {
      problems.push(`${name} has a secret in its environment: ${variable}`);
    } else if (value && CREDENTIALS_IN_URL.test(value)) {
      problems.push(`${name} has credentials in a URL in its environment: ${variable}`);
    }
  }
  if (options.internalOnlyImages.some((pattern) => pattern.test(service.image ?? ''))) {
    for (const network of Object.keys(service.networks ?? { default: null })) {
      if (config.networks?.[network]?.internal !== true) problems.push(`${name} is on non-internal network ${network}`);
    }
  }
  return problems;
}

/** Every way the configuration breaks the rules, one line each, naming the service; empty when it keeps them. */
export function policyProblems(config: ComposeConfig, options: PolicyOptions): string[] {
  const once = oneShots(config);
  const problems = Object.entries(config.services).flatMap(([name, service]) => [
    ...imageProblems(service, options).map((problem) => `${name} ${problem}`),
    ...runtimeProblems(name, service, once.has(name)),
    ...exposureProblems(name, service, config, options),
  ]);
  for (const [name, secret] of Object.entries(config.secrets ?? {})) {
    if (!secret.file) problems.push(`secret ${name} does not come from a file`);
  }
  return problems;
}
