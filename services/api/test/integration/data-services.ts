import { readFileSync } from 'node:fs';
import type { Settings } from '@pdpl/config';
import { loadConfig } from '@pdpl/config';
import { pino } from 'pino';
import type { StartedTestContainer } from 'testcontainers';
import { GenericContainer, Wait } from 'testcontainers';
import { Passwords } from '../../src/auth/passwords.ts';
import { createPool } from '../../src/db/pool.ts';
import { UserStore } from '../../src/db/users.ts';

// PostgreSQL and Redis from the platform's own images (built by scripts/prepare.sh), one pair per test file.

const VERSION = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version;

// Passwords with the characters that break URL-style credentials, to prove they work end to end.
export const DATABASE_PASSWORD = 'db+pa/ss=wo$rd@with:colons';
export const REDIS_PASSWORD = 'redis+pa/ss=wo$rd@with:colons';
const SUPERUSER_PASSWORD = 'superuser-password-for-tests-only';

export interface DataServices {
  readonly postgres: StartedTestContainer;
  readonly redis: StartedTestContainer;
  /** Settings of a test-environment API wired to these two containers. */
  readonly settings: Settings;
  /** The same settings with some environment variables changed. */
  settingsWith(env: Record<string, string>): Settings;
  /** Creates a user, as `npm run user:create` does (the migrations must have run). */
  createUser(email: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

const secret = (name: string, content: string) => ({ content, target: `/run/secrets/${name}`, mode: 0o444 });

export async function startDataServices(extraEnv: Record<string, string> = {}): Promise<DataServices> {
  const [postgres, redis] = await Promise.all([
    new GenericContainer(`pdpl/postgres:${VERSION}`)
      .withEnvironment({
        POSTGRES_SUPERUSER_PASSWORD_FILE: '/run/secrets/postgres_superuser_password',
        POSTGRES_APP_PASSWORD_FILE: '/run/secrets/postgres_app_password',
      })
      .withCopyContentToContainer([
        secret('postgres_superuser_password', SUPERUSER_PASSWORD),
        secret('postgres_app_password', DATABASE_PASSWORD),
      ])
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forSuccessfulCommand('pg_isready -h 127.0.0.1 -p 5432 -U postgres'))
      .withStartupTimeout(90_000)
      .start(),
    new GenericContainer(`pdpl/redis:${VERSION}`)
      .withEnvironment({ REDIS_PASSWORD_FILE: '/run/secrets/redis_password' })
      .withCopyContentToContainer([secret('redis_password', REDIS_PASSWORD)])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withStartupTimeout(60_000)
      .start(),
  ]);

  const env = {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_HOST: postgres.getHost(),
    DATABASE_PORT: String(postgres.getMappedPort(5432)),
    DATABASE_PASSWORD,
    REDIS_HOST: redis.getHost(),
    REDIS_PORT: String(redis.getMappedPort(6379)),
    REDIS_PASSWORD,
    JWT_SECRET: 'integration-test-secret-0123456789abcdefghij',
    ...extraEnv,
  };
  const settingsWith = (overrides: Record<string, string>) => loadConfig({ env: { ...env, ...overrides } });
  const settings = settingsWith({});

  return {
    postgres,
    redis,
    settings,
    settingsWith,
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
