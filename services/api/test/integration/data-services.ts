import type { Settings } from '@pdpl/config';
import { loadConfig } from '@pdpl/config';
import { pino } from 'pino';
import type { StartedTestContainer } from 'testcontainers';
import { Passwords } from '../../src/auth/passwords.ts';
import { runMigrations } from '../../src/db/migrations.ts';
import { createPool } from '../../src/db/pool.ts';
import { UserStore } from '../../src/db/users.ts';
import type { PostgresOptions } from './postgres-container.ts';
import { POSTGRES_PASSWORDS, startPostgres } from './postgres-container.ts';
import { startRedis } from './redis-container.ts';
import { testCertificates } from './test-certificates.ts';

// PostgreSQL and Redis from the platform's own images (built by scripts/prepare.sh), one pair per test file,
// hardened as in production: TLS verified against the platform's CA, least-privilege roles and ACL users.

// Passwords with the characters that break URL-style credentials, to prove they work end to end.
export const DATABASE_PASSWORD = POSTGRES_PASSWORDS.app;
export const REDIS_PASSWORD = 'redis+pa/ss=wo$rd@with:colons';
export const REDIS_OPERATOR_PASSWORD = 'operator+pa/ss=wo$rd@with:colons';

export interface DataServices {
  readonly postgres: StartedTestContainer;
  readonly redis: StartedTestContainer;
  /** The environment of a test-environment API wired to these two containers, as the API's own role. */
  readonly env: Record<string, string>;
  /** The same for the migrate step, which runs as the owner role. */
  readonly ownerEnv: Record<string, string>;
  /** Settings of that API. */
  readonly settings: Settings;
  /** The same settings with some environment variables changed. */
  settingsWith(env: Record<string, string>): Settings;
  /** Applies the migrations as the migrate service does: as the owner role. */
  migrate(): Promise<string[]>;
  /** Creates a user, as `npm run user:create` does (the migrations must have run). */
  createUser(email: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

export interface DataServicesOptions {
  /** Variables over the API's environment. */
  readonly env?: Record<string, string>;
  /** How the PostgreSQL container starts (a fixed port, limits). */
  readonly postgres?: Omit<PostgresOptions, 'tlsDir'>;
  /** A fixed host port for Redis, for tests that restart it. */
  readonly redisHostPort?: number;
}

export async function startDataServices(options: DataServicesOptions = {}): Promise<DataServices> {
  const tlsDir = testCertificates();
  const [postgres, redis] = await Promise.all([
    startPostgres({ tlsDir, ...options.postgres }),
    startRedis({
      tlsDir,
      apiPassword: REDIS_PASSWORD,
      operatorPassword: REDIS_OPERATOR_PASSWORD,
      hostPort: options.redisHostPort,
    }),
  ]);

  const env = {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_HOST: postgres.getHost(),
    DATABASE_PORT: String(postgres.getMappedPort(5432)),
    DATABASE_USER: 'pdpl_app',
    DATABASE_PASSWORD,
    DATABASE_SSL_MODE: 'verify-full',
    DATABASE_CA_FILE: `${tlsDir}/ca.crt`,
    REDIS_HOST: redis.getHost(),
    REDIS_PORT: String(redis.getMappedPort(6379)),
    REDIS_USERNAME: 'pdpl_api',
    REDIS_PASSWORD,
    REDIS_TLS: 'true',
    REDIS_CA_FILE: `${tlsDir}/ca.crt`,
    JWT_SECRET: 'integration-test-secret-0123456789abcdefghij',
    ...options.env,
  };
  const ownerEnv = { ...env, DATABASE_USER: 'pdpl_owner', DATABASE_PASSWORD: POSTGRES_PASSWORDS.owner };
  const settingsWith = (overrides: Record<string, string>) => loadConfig({ env: { ...env, ...overrides } });
  const settings = settingsWith({});

  return {
    postgres,
    redis,
    env,
    ownerEnv,
    settings,
    settingsWith,
    migrate: () => runMigrations(loadConfig({ env: ownerEnv })),
    async createUser(email, password) {
      const pool = createPool(settings, pino({ level: 'silent' }));
      try {
        await new UserStore(pool).create(email, await new Passwords(settings).hash(password));
      } finally {
        await pool.end();
      }
    },
    async stop() {
      await Promise.allSettled([postgres.stop(), redis.stop()]);
    },
  };
}
