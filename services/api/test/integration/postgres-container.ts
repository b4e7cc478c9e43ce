import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { GenericContainer, Wait } from 'testcontainers';
import { bridgeNetwork } from './test-certificates.ts';

const VERSION = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version;
export const POSTGRES_IMAGE = `pdpl/postgres:${VERSION}`;

/** One password per role, as the secret files of docker-compose.yml give them. */
export const POSTGRES_PASSWORDS = {
  superuser: 'superuser-password-for-tests-only',
  owner: 'owner+pa/ss=wo$rd@with:colons',
  // The characters that break URL-style credentials, to prove they work end to end.
  app: 'db+pa/ss=wo$rd@with:colons',
  readonly: 'readonly-password-for-tests-only',
  backup: 'backup-password-for-tests-only',
} as const;

export interface PostgresOptions {
  /** The folder of scripts/make-tls-certs.sh's tls/ output (postgres.crt and postgres.key are used). */
  readonly tlsDir: string;
  /** POSTGRES_CLIENT_NETWORKS; default: the engine's bridge, where connections to published ports come from. */
  readonly clientNetworks?: string;
  /** Other variables of the image (connection limit, timeouts). */
  readonly env?: Record<string, string>;
  /** A fixed host port, for tests that restart the container and must find it at the same address. */
  readonly hostPort?: number;
  /** The role infisical's password (POSTGRES_INFISICAL_PASSWORD_FILE), as compose/infisical.yml gives it. */
  readonly infisicalPassword?: string;
  /** A host folder (uid 999's) for the data volume, so another container can start on the same data. */
  readonly dataDir?: string;
}

/** Succeeds once the server accepts connections: asked inside the container, on its socket, of nobody's API. */
const READY = ['pg_isready', '-h', '/var/run/postgresql', '-U', 'postgres'];

const secret = (name: string, content: string | Buffer) => ({ content, target: `/run/secrets/${name}`, mode: 0o444 });

/** pdpl/postgres with every role's password and the TLS pair, as compose mounts them. */
export function startPostgres(options: PostgresOptions) {
  const { tlsDir, clientNetworks, env = {}, hostPort, infisicalPassword, dataDir } = options;
  const roles: [string, string][] = Object.entries(POSTGRES_PASSWORDS);
  if (infisicalPassword !== undefined) roles.push(['infisical', infisicalPassword]);
  const volume = dataDir ? [{ source: dataDir, target: '/var/lib/postgresql/data' }] : [];
  return new GenericContainer(POSTGRES_IMAGE)
    .withBindMounts(volume)
    .withEnvironment({
      POSTGRES_CLIENT_NETWORKS: clientNetworks ?? bridgeNetwork(),
      ...Object.fromEntries(
        roles.map(([role]) => [`POSTGRES_${role.toUpperCase()}_PASSWORD_FILE`, `/run/secrets/postgres_${role}`]),
      ),
      ...env,
    })
    .withCopyContentToContainer([
      ...roles.map(([role, password]) => secret(`postgres_${role}`, password)),
      secret('postgres_tls_certificate', readFileSync(join(tlsDir, 'postgres.crt'))),
      secret('postgres_tls_private_key', readFileSync(join(tlsDir, 'postgres.key'))),
    ])
    .withExposedPorts(hostPort ? { container: 5432, host: hostPort } : 5432)
    .withWaitStrategy(Wait.forSuccessfulCommand(READY.join(' ')))
    .withStartupTimeout(90_000)
    .start() satisfies Promise<StartedTestContainer>;
}

/** Whether the server in the container accepts connections now, as its start waits for. */
export async function acceptsConnections(container: StartedTestContainer): Promise<boolean> {
  return (await container.exec(READY)).exitCode === 0;
}

/**
 * What a statement returns when the superuser runs it on the container's own socket, the only way it may log in
 * (pg_hba.conf): a line a row, its fields split by a space. Fails naming psql's complaint.
 */
export async function superuserRows(container: StartedTestContainer, sql: string): Promise<string[]> {
  const command = ['psql', '-U', 'postgres', '-d', 'pdpl', '-v', 'ON_ERROR_STOP=1', '-AtF', ' ', '-c', sql];
  const { exitCode, stdout, stderr } = await container.exec(command);
  if (exitCode !== 0) throw new Error(`psql as the superuser failed (exit ${exitCode}): ${stderr}`);
  return stdout.split('\n').filter(Boolean);
}
