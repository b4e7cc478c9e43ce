// The one schema every process of the platform boots from. Each setting names its environment variable, a format,
// a default where a default is safe, and `sensitive` where the value is a secret (never printed, see redact.ts).
// Issue #3 grows this into the whole schema (cookies, CORS, telemetry, backups, secret provider).

/** A known development value: fine on a laptop, refused in production (see production-rules.ts). */
export const DEVELOPMENT_JWT_SECRET = 'development-only-jwt-secret-never-use-in-production';

export const ENVIRONMENTS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const schema = {
  environment: {
    doc: 'Which rules apply: production refuses development values and insecure settings.',
    format: ENVIRONMENTS,
    default: 'development' as (typeof ENVIRONMENTS)[number],
    env: 'ENVIRONMENT',
  },
  server: {
    host: {
      doc: 'Address the API listens on inside its container.',
      format: 'hostname',
      default: '0.0.0.0',
      env: 'HOST',
    },
    port: {
      doc: 'TCP port the API listens on.',
      format: 'port',
      default: 3000,
      env: 'PORT',
    },
    reload: {
      doc: 'Restart on source changes. Development only; production refuses it.',
      format: 'strict-boolean',
      default: false,
      env: 'RELOAD',
    },
  },
  log: {
    level: {
      doc: 'Lowest level written. Production accepts warn, error or fatal (checklist 2.1).',
      format: LOG_LEVELS,
      default: 'info' as (typeof LOG_LEVELS)[number],
      env: 'LOG_LEVEL',
    },
  },
  database: {
    host: {
      doc: 'PostgreSQL host. Credentials are separate settings, not a URL, so any character works in a password.',
      format: 'hostname',
      default: 'localhost',
      env: 'DATABASE_HOST',
    },
    port: { doc: 'PostgreSQL port.', format: 'port', default: 5432, env: 'DATABASE_PORT' },
    name: { doc: 'Database name.', format: 'non-empty-string', default: 'pdpl', env: 'DATABASE_NAME' },
    user: { doc: 'Role the API logs in as.', format: 'non-empty-string', default: 'pdpl_app', env: 'DATABASE_USER' },
    password: {
      doc: 'Password of the database role.',
      format: String,
      default: '',
      env: 'DATABASE_PASSWORD',
      sensitive: true,
    },
    poolMax: {
      doc: 'Most connections the API holds open to PostgreSQL.',
      format: 'positive-int',
      default: 10,
      env: 'DATABASE_POOL_MAX',
    },
  },
  redis: {
    host: { doc: 'Redis host.', format: 'hostname', default: 'localhost', env: 'REDIS_HOST' },
    port: { doc: 'Redis port.', format: 'port', default: 6379, env: 'REDIS_PORT' },
    username: {
      doc: 'Redis ACL user.',
      format: 'non-empty-string',
      default: 'default',
      env: 'REDIS_USERNAME',
    },
    password: {
      doc: 'Password of the Redis user. Required in production.',
      format: String,
      default: '',
      env: 'REDIS_PASSWORD',
      sensitive: true,
    },
  },
  jwt: {
    secret: {
      doc: 'HMAC key that signs access and refresh tokens. At least 32 characters; unique to each deployment.',
      format: 'non-empty-string',
      default: DEVELOPMENT_JWT_SECRET,
      env: 'JWT_SECRET',
      sensitive: true,
    },
    issuer: {
      doc: 'The iss claim of issued tokens.',
      format: 'non-empty-string',
      default: 'pdpl-api',
      env: 'JWT_ISSUER',
    },
    accessTtlSeconds: {
      doc: 'Lifetime of an access token, in seconds.',
      format: 'positive-int',
      default: 900,
      env: 'JWT_ACCESS_TTL_SECONDS',
    },
    refreshTtlSeconds: {
      doc: 'Lifetime of a refresh token, in seconds.',
      format: 'positive-int',
      default: 604_800,
      env: 'JWT_REFRESH_TTL_SECONDS',
    },
  },
};
