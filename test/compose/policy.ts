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

/** Each rule a service is held to, by name: what an exception names. */
export type Rule =
  | 'image'
  | 'healthcheck'
  | 'restart'
  | 'limits'
  | 'no-new-privileges'
  | 'cap-drop'
  | 'cap-add'
  | 'read-only'
  | 'non-root'
  | 'logging'
  | 'ports'
  | 'environment'
  | 'internal-network';

/** A rule one service cannot keep, and why: it lifts that rule for that service only, never for another. */
export interface PolicyException {
  readonly service: string;
  readonly rule: Rule;
  readonly why: string;
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
  /** The rules a named service is excused from, each with its reason. */
  readonly exceptions?: readonly PolicyException[];
}

/** One broken rule: the rule, and the line that says how, naming the service. */
interface Finding {
  readonly rule: Rule;
  readonly problem: string;
}

// Names that hold a secret in another program's settings (the platform's own say so in its schema), unless they
// end in _FILE: a path to one.
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|(^|_)KEY($|_)|AUTH$/i;
// A URL with a password in it: user:password@host.
const CREDENTIALS_IN_URL = /\/\/[^/@\s]*:[^/@\s]+@/;
// An exact version, major.minor.patch after an optional v (a suffix such as -alpine may follow), or a digest:
// never a moving tag such as latest, 3 or 12.4, which a registry moves to the next release.
const PINNED_TAG = /(:v?\d+\.\d+\.\d+([-+][\w.-]+)?(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/;
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

function runtimeProblems(service: ComposeService, oneShot: boolean): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: Rule, problem: string) => findings.push({ rule, problem });
  const health = service.healthcheck;
  if (!oneShot && (!health?.test?.length || health.disable || health.test[0] === 'NONE')) {
    add('healthcheck', 'has no healthcheck');
  }
  const restarts = oneShot ? ['no', 'on-failure'] : ['always', 'unless-stopped'];
  if (!restarts.includes(service.restart ?? '')) {
    add('restart', `restarts "${service.restart ?? 'never (unset)'}", not one of ${restarts.join(', ')}`);
  }
  const limits = service.deploy?.resources?.limits ?? {};
  const missing = REQUIRED_LIMITS.filter((limit) => limits[limit] === undefined || limits[limit] === null);
  if (missing.length) add('limits', `has no ${missing.join(', ')} limit`);
  if (!service.security_opt?.includes('no-new-privileges:true')) add('no-new-privileges', 'lacks no-new-privileges');
  if (!service.cap_drop?.includes('ALL')) add('cap-drop', 'does not drop all capabilities');
  if (service.cap_add?.length) add('cap-add', `adds capabilities back: ${service.cap_add.join(', ')}`);
  if (service.read_only !== true) add('read-only', 'has a writable root filesystem');
  const user = service.user ?? (service.build ? dockerfileUser(service.build) : '');
  if (isRoot(user)) add('non-root', `runs as root (user "${user}")`);
  const { driver, options = {} } = service.logging ?? {};
  if (driver !== 'json-file' || !options['max-size'] || !options['max-file']) {
    add('logging', 'logs are not json-file bounded by max-size and max-file');
  }
  return findings;
}

function exposureProblems(name: string, service: ComposeService, config: ComposeConfig, options: PolicyOptions) {
  const findings: Finding[] = [];
  const allowed = options.edge[name] ?? [];
  for (const port of service.ports ?? []) {
    if (!allowed.includes(port.target)) {
      findings.push({ rule: 'ports', problem: `publishes container port ${port.target}` });
    }
  }
  for (const [variable, value] of Object.entries(service.environment ?? {})) {
    const secret = options.platformSettings.get(variable) ?? SECRET_NAME.test(variable);
    if (!variable.endsWith('_FILE') && secret) {
      findings.push({ rule: 'environment', problem: `has a secret in its environment: ${variable}` });
    } else if (value && CREDENTIALS_IN_URL.test(value)) {
      findings.push({ rule: 'environment', problem: `has credentials in a URL in its environment: ${variable}` });
    }
  }
  if (options.internalOnlyImages.some((pattern) => pattern.test(service.image ?? ''))) {
    for (const network of Object.keys(service.networks ?? { default: null })) {
      if (config.networks?.[network]?.internal !== true) {
        findings.push({ rule: 'internal-network', problem: `is on non-internal network ${network}` });
      }
    }
  }
  return findings;
}

/**
 * Every way the configuration breaks the rules, one line each, naming the service; empty when it keeps them. An
 * exception lifts its one rule for its one service; one that lifts nothing (the service keeps the rule now) is a
 * problem too, so no exception outlives its reason.
 */
export function policyProblems(config: ComposeConfig, options: PolicyOptions): string[] {
  const once = oneShots(config);
  const exceptions = options.exceptions ?? [];
  const problems: string[] = [];
  for (const [name, service] of Object.entries(config.services)) {
    const findings: Finding[] = [
      ...imageProblems(service, options).map((problem): Finding => ({ rule: 'image', problem })),
      ...runtimeProblems(service, once.has(name)),
      ...exposureProblems(name, service, config, options),
    ];
    const excused = (finding: Finding) =>
      exceptions.some((exception) => exception.service === name && exception.rule === finding.rule);
    problems.push(...findings.filter((finding) => !excused(finding)).map(({ problem }) => `${name} ${problem}`));
    for (const exception of exceptions.filter((candidate) => candidate.service === name)) {
      if (!findings.some((finding) => finding.rule === exception.rule)) {
        problems.push(`${name} keeps rule ${exception.rule} now: remove its exception`);
      }
    }
  }
  for (const [name, secret] of Object.entries(config.secrets ?? {})) {
    if (!secret.file) problems.push(`secret ${name} does not come from a file`);
  }
  return problems;
}
