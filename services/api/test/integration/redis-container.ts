import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { GenericContainer, Wait } from 'testcontainers';

const VERSION = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version;

export interface RedisContainerOptions {
  /** The folder of scripts/make-tls-certs.sh's tls/ output (redis.crt, redis.key and ca.crt are used). */
  readonly tlsDir: string;
  /** pdpl_api's password: the API's user. */
  readonly apiPassword: string;
  /** pdpl_operator's password: the operator's user and the healthcheck's. */
  readonly operatorPassword: string;
  /** pdpl_infisical's password (REDIS_INFISICAL_PASSWORD_FILE), as compose/infisical.yml gives it; default: none. */
  readonly infisicalPassword?: string;
  /** Start as root (`user: root` in compose), so the entrypoint stages the key for redis; default: the image's user. */
  readonly asRoot?: boolean;
  /** More redis-server arguments, for a test that needs a server configured otherwise. */
  readonly serverArgs?: readonly string[];
  /** A fixed host port, for tests that restart the container and must find it at the same address. */
  readonly hostPort?: number;
}

/** pdpl/redis with both users' passwords, its TLS pair and the CA where compose mounts them, and a tmpfs /tmp. */
export function startRedis(options: RedisContainerOptions): Promise<StartedTestContainer> {
  const {
    tlsDir,
    apiPassword,
    operatorPassword,
    infisicalPassword,
    asRoot = false,
    serverArgs = [],
    hostPort,
  } = options;
  // Copied files belong to root. Started as the image's user, redis must read them where they are (in compose, the
  // secrets group lets it); started as root, they are root's alone, and the entrypoint hands redis its own copy.
  const mode = asRoot ? 0o400 : 0o444;
  const secret = (name: string, content: string | Buffer) => ({ content, target: `/run/secrets/${name}`, mode });
  const infisical = infisicalPassword === undefined ? [] : [secret('redis_infisical_password', infisicalPassword)];
  const container = new GenericContainer(`pdpl/redis:${VERSION}`)
    .withEnvironment({
      REDIS_PASSWORD_FILE: '/run/secrets/redis_password',
      REDIS_OPERATOR_PASSWORD_FILE: '/run/secrets/redis_operator_password',
      ...(infisical.length ? { REDIS_INFISICAL_PASSWORD_FILE: '/run/secrets/redis_infisical_password' } : {}),
    })
    .withCopyContentToContainer([
      ...infisical,
      secret('redis_password', apiPassword),
      secret('redis_operator_password', operatorPassword),
      secret('redis_tls_certificate', readFileSync(join(tlsDir, 'redis.crt'))),
      secret('redis_tls_private_key', readFileSync(join(tlsDir, 'redis.key'))),
      // For the healthcheck, which runs inside the container.
      secret('tls_ca', readFileSync(join(tlsDir, 'ca.crt'))),
    ])
    .withTmpFs({ '/tmp': 'rw,noexec,nosuid' })
    .withExposedPorts(hostPort ? { container: 6379, host: hostPort } : 6379)
    .withCommand(['redis-server', ...serverArgs])
    // Logged once the data on disk is loaded, so a restarted container is waited for until its keys are back.
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000);
  return (asRoot ? container.withUser('root') : container).start();
}
