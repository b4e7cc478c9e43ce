import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SETTINGS } from '../../config/src/settings.ts';
import { REPO_ROOT } from '../e2e/compose-stack.ts';
import {
  type ComposeConfig,
  type ComposeService,
  type PolicyException,
  type PolicyOptions,
  policyProblems,
} from './policy.ts';

// Every combination of docker-compose.yml with the overlays in compose/, every profile switched on, as
// `docker compose config` renders it: no engine is needed, only the Compose CLI.

const run = promisify(execFile);
const VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
// The rules a service cannot keep, each lifted for that service alone and for a reason. Every other rule still
// holds it (the careless fixture below proves the lifted rule still fires for everyone else).
const EXCEPTIONS: readonly PolicyException[] = [
  {
    service: 'alloy',
    rule: 'non-root',
    why:
      "Docker's json-file logs are root's (mode 0640) and no other user may read them without a capability; " +
      'root with every capability dropped reads what root owns, through a read-only mount, and writes only its ' +
      'volume and /tmp (compose/observability.yml).',
  },
  {
    service: 'infisical',
    rule: 'read-only',
    why:
      "its image's entrypoint rewrites the web UI's files and /etc/ssl/certs at every start, and the first run " +
      'needs that UI; an image of ours on top of theirs could do both at build time (compose/infisical.yml).',
  },
];
const OPTIONS: PolicyOptions = {
  version: VERSION,
  edge: { nginx: [8080, 8443] },
  internalOnlyImages: [/^pdpl\/(postgres|redis):/],
  platformSettings: new Map(SETTINGS.map((setting) => [setting.env, setting.sensitive])),
  exceptions: EXCEPTIONS,
};
// What a shell may have set would change what Compose renders; the overlays' required variables are given.
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(COMPOSE_|PDPL_)/.test(name))),
  PDPL_PUBLIC_HOST: 'api.example.test',
  PDPL_ACME_EMAIL: 'ops@example.test',
};

async function rendered(files: readonly string[], cwd = REPO_ROOT): Promise<ComposeConfig> {
  const fileArgs = files.flatMap((file) => ['-f', file]);
  const { stdout: profiles } = await run('docker', ['compose', ...fileArgs, 'config', '--profiles'], { cwd, env: ENV });
  const profileArgs = profiles.split('\n').flatMap((name) => (name ? ['--profile', name] : []));
  const { stdout } = await run('docker', ['compose', ...fileArgs, ...profileArgs, 'config', '--format', 'json'], {
    cwd,
    env: ENV,
  });
  return JSON.parse(stdout);
}

// `npm run dev` (scripts/dev.sh) names this overlay itself, never together with another: it publishes the data
// services for an API run on this machine, so it is held to rules of its own below, not combined with the rest.
const DEVELOPMENT_OVERLAY = 'compose/development.yml';
const overlays = readdirSync(join(REPO_ROOT, 'compose'))
  .filter((name) => name.endsWith('.yml'))
  .map((name) => `compose/${name}`)
  .filter((file) => file !== DEVELOPMENT_OVERLAY)
  .sort();
// Every subset of the overlays, each on top of the core file.
const combinations: string[][] = [[]];
for (const overlay of overlays) combinations.push(...combinations.map((subset) => [...subset, overlay]));

describe('compose policy', () => {
  for (const combination of combinations) {
    const files = ['docker-compose.yml', ...combination];
    it(`should hold every service of ${files.join(' + ')} to the rules`, async () => {
      const config = await rendered(files);

      assert.deepEqual(policyProblems(config, OPTIONS), []);
    });
  }

  it('should cover the production and observability overlays', () => {
    for (const overlay of ['compose/production.yml', 'compose/observability.yml']) {
      assert.ok(overlays.includes(overlay), `${overlay} is not among the overlays found: ${overlays.join(', ')}`);
    }
  });
});

describe('the development overlay', () => {
  const files = ['docker-compose.yml', DEVELOPMENT_OVERLAY];
  // The data services publish their ports and join a network that is not internal, the only way Docker publishes
  // a port; every other rule still holds them, and everyone else is held to all of them.
  const development: PolicyOptions = {
    ...OPTIONS,
    edge: { ...OPTIONS.edge, postgres: [5432], redis: [6379] },
    exceptions: [
      ...EXCEPTIONS,
      ...['postgres', 'redis'].map(
        (service): PolicyException => ({
          service,
          rule: 'internal-network',
          why: 'published on loopback for an API run on this machine (npm run dev)',
        }),
      ),
    ],
  };

  it('should hold every service to the rules, the data services publishing their own port alone', async () => {
    const config = await rendered(files);

    assert.deepEqual(policyProblems(config, development), []);
  });

  it("should publish PostgreSQL and Redis on this machine's loopback only, and nothing else at all", async () => {
    const config = await rendered(files);
    const published = Object.entries(config.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => `${name} ${port.host_ip ?? '*'}:${port.published} -> ${port.target}`),
    );

    assert.deepEqual(published.sort(), [
      'nginx 127.0.0.1:443 -> 8443',
      'nginx 127.0.0.1:80 -> 8080',
      'postgres 127.0.0.1:5432 -> 5432',
      'redis 127.0.0.1:6379 -> 6379',
    ]);
  });
});

describe('compose wiring', () => {
  it('should publish nginx on loopback only in the core file, and on every address with the production overlay', async () => {
    const core = await rendered(['docker-compose.yml']);
    const production = await rendered(['docker-compose.yml', 'compose/production.yml']);

    assert.deepEqual(
      core.services.nginx?.ports?.map((port) => [port.host_ip, port.target]),
      [
        ['127.0.0.1', 8080],
        ['127.0.0.1', 8443],
      ],
    );
    assert.deepEqual(
      production.services.nginx?.ports?.map((port) => [port.host_ip ?? '', port.target, port.published]),
      [
        ['', 8080, '80'],
        ['', 8443, '443'],
      ],
    );
  });

  it('should trust only nginx as the proxy and let PostgreSQL logins in from the data network only', async () => {
    const config = (await rendered(['docker-compose.yml'])) as ComposeConfig & {
      services: Record<string, { networks?: Record<string, { ipv4_address?: string } | null> }>;
      networks: Record<string, { internal?: boolean; ipam?: { config?: { subnet: string }[] } }>;
    };
    const nginxAddress = config.services.nginx?.networks?.edge?.ipv4_address;
    const dataSubnet = config.networks.data?.ipam?.config?.[0]?.subnet;

    assert.ok(nginxAddress, 'nginx has a fixed address on the edge network');
    assert.equal(config.services.api?.environment?.TRUSTED_PROXIES, nginxAddress);
    assert.equal(config.networks.data?.internal, true);
    assert.equal(config.services.postgres?.environment?.POSTGRES_CLIENT_NETWORKS, dataSubnet);
    assert.deepEqual(Object.keys(config.services.postgres?.networks ?? {}), ['data']);
    assert.deepEqual(Object.keys(config.services.redis?.networks ?? {}), ['data']);
    assert.deepEqual(Object.keys(config.services.nginx?.networks ?? {}), ['edge']);
  });
});

describe("the Let's Encrypt overlay", () => {
  type Mount = { type: string; source: string; target: string; read_only?: boolean };
  type Wired = ComposeService & { volumes?: Mount[]; secrets?: { source: string }[] };
  const mounts = (service: Wired | undefined) =>
    (service?.volumes ?? []).map((mount) => `${mount.source}:${mount.target}:${mount.read_only ? 'ro' : 'rw'}`);

  it('should give nginx its pair from the edge-tls volume, not from .secrets, and the webroot read-only', async () => {
    const config = await rendered(['docker-compose.yml', 'compose/production.yml', 'compose/letsencrypt.yml']);
    const nginx = config.services.nginx as Wired;

    assert.deepEqual(nginx.secrets ?? [], [], 'no tls_certificate or tls_private_key secret');
    assert.equal(nginx.environment?.TLS_CERTIFICATE_FILE, '/run/edge-tls/server.crt');
    assert.equal(nginx.environment?.TLS_PRIVATE_KEY_FILE, '/run/edge-tls/server.key');
    assert.deepEqual(mounts(nginx).sort(), ['acme-webroot:/var/www/acme:ro', 'edge-tls:/run/edge-tls:ro']);
    assert.equal(nginx.depends_on?.['edge-tls-init']?.condition, 'service_completed_successfully');
  });

  it('should let certbot and its one-shot alone write the three volumes, and keep its account from nginx', async () => {
    const config = await rendered(['docker-compose.yml', 'compose/letsencrypt.yml']);
    const certbot = config.services.certbot as Wired;
    const writers = Object.entries(config.services as Record<string, Wired>)
      .filter(([, service]) =>
        mounts(service).some((mount) => /^(acme-webroot|edge-tls|letsencrypt):.*:rw$/.test(mount)),
      )
      .map(([name]) => name);

    assert.deepEqual(writers.sort(), ['certbot', 'edge-tls-init']);
    assert.deepEqual(mounts(certbot).sort(), [
      'acme-webroot:/var/www/acme:rw',
      'edge-tls:/run/edge-tls:rw',
      'letsencrypt:/etc/letsencrypt:rw',
    ]);
    assert.equal(certbot.environment?.ACME_EMAIL, 'ops@example.test');
    assert.equal(certbot.environment?.ACME_STAGING, 'false', "Let's Encrypt's production CA by default");
    assert.equal(certbot.environment?.ACME_SERVER, '');
    assert.equal(certbot.depends_on?.nginx?.condition, 'service_healthy');
  });
});

describe('policyProblems', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pdpl-policy-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('should name every rule a careless service breaks', async () => {
    mkdirSync(join(scratch, 'rooted'));
    writeFileSync(join(scratch, 'rooted', 'Dockerfile'), 'FROM debian:trixie-slim AS build\nUSER 1000\nFROM scratch\n');
    writeFileSync(
      join(scratch, 'compose.yml'),
      [
        'name: careless',
        'services:',
        '  web:',
        '    image: example/web:latest',
        '    ports: ["5432:5432"]',
        '    cap_add: [NET_ADMIN]',
        '    secrets: [from_env]',
        '    environment:',
        '      DB_URL: postgres://app:hunter2@db/app',
        '      ADMIN_PASSWORD: hunter2',
        '      ADMIN_PASSWORD_FILE: /run/secrets/admin_password',
        '  built:',
        '    image: pdpl/built:0.0.1',
        '    build: { context: rooted }',
        '    restart: always',
        '    healthcheck: { test: ["CMD", "true"] }',
        '    deploy: { resources: { limits: { cpus: "1", memory: 64m, pids: 10 } } }',
        '    security_opt: ["no-new-privileges:true"]',
        '    cap_drop: [ALL]',
        '    read_only: true',
        '    logging: { driver: json-file, options: { max-size: 1m, max-file: "2" } }',
        '  store:',
        '    image: pdpl/redis:0.0.1',
        '    user: "999"',
        '    networks: [open]',
        'networks:',
        '  open: {}',
        'secrets:',
        '  from_env: { environment: ADMIN_PASSWORD }',
      ].join('\n'),
    );

    const problems = policyProblems(await rendered(['compose.yml'], scratch), OPTIONS);

    assert.deepEqual(
      problems.sort(),
      [
        `built builds image "pdpl/built:0.0.1", not pdpl/<name>:${VERSION}`,
        'built runs as root (user "")',
        'secret from_env does not come from a file',
        'store has a writable root filesystem',
        'store has no cpus, memory, pids limit',
        'store has no healthcheck',
        'store is on non-internal network open',
        'store lacks no-new-privileges',
        'store logs are not json-file bounded by max-size and max-file',
        'store restarts "never (unset)", not one of always, unless-stopped',
        'store does not drop all capabilities',
        'web adds capabilities back: NET_ADMIN',
        'web does not drop all capabilities',
        'web has a secret in its environment: ADMIN_PASSWORD',
        'web has a writable root filesystem',
        'web has credentials in a URL in its environment: DB_URL',
        'web has no cpus, memory, pids limit',
        'web has no healthcheck',
        'web lacks no-new-privileges',
        'web logs are not json-file bounded by max-size and max-file',
        'web publishes container port 5432',
        'web restarts "never (unset)", not one of always, unless-stopped',
        'web runs as root (user "")',
        'web runs image "example/web:latest", which is not pinned to an exact version',
      ].sort(),
    );
  });

  it('should take an exact version or a digest as a pin, never a tag a registry moves', async () => {
    const images = {
      major: 'example/a:3',
      minor: 'example/b:12.4',
      latest: 'example/c:latest',
      exact: 'example/d:1.2.3',
      suffixed: 'example/e:v1.20.1-alpine',
      digest: `example/f@sha256:${'0'.repeat(64)}`,
    };
    writeFileSync(
      join(scratch, 'pins.yml'),
      [
        'name: pins',
        'x-hardened: &hardened',
        '  restart: always',
        '  healthcheck: { test: ["CMD", "true"] }',
        '  deploy: { resources: { limits: { cpus: "1", memory: 64m, pids: 10 } } }',
        '  security_opt: ["no-new-privileges:true"]',
        '  cap_drop: [ALL]',
        '  read_only: true',
        '  user: "1000"',
        '  logging: { driver: json-file, options: { max-size: 1m, max-file: "2" } }',
        'services:',
        ...Object.entries(images).map(([name, image]) => `  ${name}: { <<: *hardened, image: "${image}" }`),
      ].join('\n'),
    );

    const problems = policyProblems(await rendered(['pins.yml'], scratch), OPTIONS);

    assert.deepEqual(
      problems.sort(),
      ['latest', 'major', 'minor'].map(
        (name) =>
          `${name} runs image "${images[name as keyof typeof images]}", which is not pinned to an exact version`,
      ),
    );
  });

  it('should lift an exception for its own service and rule only, and name one that lifts nothing', async () => {
    writeFileSync(
      join(scratch, 'excepted.yml'),
      [
        'name: excepted',
        'x-hardened: &hardened',
        '  restart: always',
        '  healthcheck: { test: ["CMD", "true"] }',
        '  deploy: { resources: { limits: { cpus: "1", memory: 64m, pids: 10 } } }',
        '  security_opt: ["no-new-privileges:true"]',
        '  read_only: true',
        '  logging: { driver: json-file, options: { max-size: 1m, max-file: "2" } }',
        'services:',
        // Excused from non-root, but still held to dropping its capabilities.
        '  alloy: { <<: *hardened, image: "grafana/alloy:v1.20.1", user: "0:0" }',
        // The same root user in another service: the exception is alloy's, not root's.
        '  shipper: { <<: *hardened, image: "grafana/alloy:v1.20.1", user: "0:0", cap_drop: [ALL] }',
        // Excused from a rule it keeps: the exception has outlived its reason.
        '  keeper: { <<: *hardened, image: "example/keeper:1.0.0", user: "1000", cap_drop: [ALL] }',
      ].join('\n'),
    );
    const exceptions: PolicyException[] = [
      ...EXCEPTIONS,
      { service: 'keeper', rule: 'non-root', why: 'it once needed root' },
    ];

    const problems = policyProblems(await rendered(['excepted.yml'], scratch), { ...OPTIONS, exceptions });

    assert.deepEqual(problems.sort(), [
      'alloy does not drop all capabilities',
      'keeper keeps rule non-root now: remove its exception',
      'shipper runs as root (user "0:0")',
    ]);
  });
});
