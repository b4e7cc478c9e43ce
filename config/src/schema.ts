// The one schema every process of the platform boots from: the API, the one-shot jobs and the scripts. Each setting
// names its environment variable, a format, a default where a default is safe, and `sensitive` where the value is
// a secret (never printed: see redact.ts). Types for the rest of the code come from here (settings.ts).

/** A known development value: fine on a laptop, refused in production (see rules.ts). */
export const DEVELOPMENT_JWT_SECRET = 'development-only-jwt-secret-never-use-in-production';

export const ENVIRONMENTS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const SAME_SITE_VALUES = ['strict', 'lax', 'none'] as const;
export const DATABASE_SSL_MODES = ['disable', 'require', 'verify-full'] as const;
export const SECRET_PROVIDERS = ['files', 'infisical'] as const;

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
    port: { doc: 'TCP port the API listens on.', format: 'port', default: 3000, env: 'PORT' },
    reload: {
      doc: 'Restart on source changes. Development only; production refuses it.',
      format: 'strict-boolean',
      default: false,
      env: 'RELOAD',
    },
    trustedProxies: {
      doc:
        'Proxies (addresses or CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto the API believes, so rate ' +
        'limits and logs see the client behind nginx. Empty: the connecting address is the client.',
      format: 'string-list',
      default: [] as string[],
      env: 'TRUSTED_PROXIES',
    },
    bodyLimitBytes: {
      doc: 'Largest request body the API reads, in bytes.',
      format: 'positive-int',
      default: 65_536,
      env: 'BODY_LIMIT_BYTES',
    },
  },
  log: {
    level: {
      doc: 'Lowest level written; warn when unset in production, which accepts warn, error or fatal (checklist 2.1).',
      format: LOG_LEVELS,
      default: 'info' as (typeof LOG_LEVELS)[number],
      env: 'LOG_LEVEL',
    },
    pretty: {
      doc: 'Human-readable multi-line logs instead of JSON lines. A development aid; production refuses it.',
      format: 'strict-boolean',
      default: false,
      env: 'LOG_PRETTY',
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
    user: {
      doc: 'Role to log in as: pdpl_app for the API, pdpl_owner for the migrate step (the only one that changes tables).',
      format: 'non-empty-string',
      default: 'pdpl_app',
      env: 'DATABASE_USER',
    },
    password: {
      doc: 'Password of the database role.',
      format: String,
      default: '',
      env: 'DATABASE_PASSWORD',
      sensitive: true,
    },
    sslMode: {
      doc:
        'TLS to PostgreSQL: disable, require (encrypted, unverified) or verify-full (checks the CA and host name). ' +
        'Production accepts verify-full only.',
      format: DATABASE_SSL_MODES,
      default: 'disable' as (typeof DATABASE_SSL_MODES)[number],
      env: 'DATABASE_SSL_MODE',
    },
    caFile: {
      doc: 'CA certificate that signs the PostgreSQL server certificate (PEM), for verify-full. Empty: system CAs.',
      format: String,
      default: '',
      env: 'DATABASE_CA_FILE',
    },
    poolMax: {
      doc: 'Most connections the API holds open to PostgreSQL.',
      format: 'positive-int',
      default: 10,
      env: 'DATABASE_POOL_MAX',
    },
    connectTimeoutMs: {
      doc: 'How long to wait for a new PostgreSQL connection before failing, in milliseconds.',
      format: 'positive-int',
      default: 5_000,
      env: 'DATABASE_CONNECT_TIMEOUT_MS',
    },
    queryTimeoutMs: {
      doc:
        "Longest wait for a query's answer, in milliseconds. Above the API role's statement timeout (30 s), so the " +
        'server ends a slow query first; this bounds a database that stops answering altogether (a network cut).',
      format: 'positive-int',
      default: 35_000,
      env: 'DATABASE_QUERY_TIMEOUT_MS',
    },
    idleTimeoutMs: {
      doc: 'How long an unused pooled connection stays open, in milliseconds.',
      format: 'positive-int',
      default: 30_000,
      env: 'DATABASE_IDLE_TIMEOUT_MS',
    },
  },
  redis: {
    host: { doc: 'Redis host.', format: 'hostname', default: 'localhost', env: 'REDIS_HOST' },
    port: { doc: 'Redis port.', format: 'port', default: 6379, env: 'REDIS_PORT' },
    username: {
      doc: "Redis ACL user. The platform's Redis disables the default user; the API's is pdpl_api.",
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
    tls: {
      doc: 'Connect to Redis over TLS, checking its certificate and host name. Production requires it.',
      format: 'strict-boolean',
      default: false,
      env: 'REDIS_TLS',
    },
    caFile: {
      doc: 'CA certificate that signs the Redis server certificate (PEM), when TLS is on. Empty: system CAs.',
      format: String,
      default: '',
      env: 'REDIS_CA_FILE',
    },
    connectTimeoutMs: {
      doc: 'How long to wait for Redis to accept a connection, in milliseconds.',
      format: 'positive-int',
      default: 5_000,
      env: 'REDIS_CONNECT_TIMEOUT_MS',
    },
    commandTimeoutMs: {
      doc: 'Longest wait for a Redis reply, in milliseconds; a slow Redis then fails the request fast (503).',
      format: 'positive-int',
      default: 1_000,
      env: 'REDIS_COMMAND_TIMEOUT_MS',
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
    previousSecret: {
      doc:
        'The signing key before the last rotation: tokens it signed stay valid until they expire, none is signed ' +
        'with it. Empty: no previous key. Replace it with a fresh random value to retire the old key.',
      format: String,
      default: '',
      env: 'JWT_PREVIOUS_SECRET',
      sensitive: true,
    },
    issuer: {
      doc: 'The iss claim of issued tokens.',
      format: 'non-empty-string',
      default: 'pdpl-api',
      env: 'JWT_ISSUER',
    },
    accessTtlSeconds: {
      doc: 'Lifetime of an access token, in seconds (at most a day, and shorter than a refresh token).',
      format: 'positive-int',
      default: 900,
      env: 'JWT_ACCESS_TTL_SECONDS',
    },
    refreshTtlSeconds: {
      doc: 'Lifetime of a refresh token, in seconds (at most 90 days).',
      format: 'positive-int',
      default: 604_800,
      env: 'JWT_REFRESH_TTL_SECONDS',
    },
  },
  passwords: {
    memoryCostKib: {
      doc: 'argon2id memory per hash, in KiB (OWASP baseline 19456).',
      format: 'positive-int',
      default: 19_456,
      env: 'PASSWORD_MEMORY_COST_KIB',
    },
    timeCost: { doc: 'argon2id passes per hash.', format: 'positive-int', default: 2, env: 'PASSWORD_TIME_COST' },
    parallelism: { doc: 'argon2id lanes per hash.', format: 'positive-int', default: 1, env: 'PASSWORD_PARALLELISM' },
  },
  cookies: {
    secure: {
      doc: 'Send cookies over HTTPS only. Production refuses false.',
      format: 'strict-boolean',
      default: true,
      env: 'COOKIE_SECURE',
    },
    sameSite: {
      doc: 'SameSite attribute of the refresh-token cookie. Production refuses none.',
      format: SAME_SITE_VALUES,
      default: 'strict' as (typeof SAME_SITE_VALUES)[number],
      env: 'COOKIE_SAME_SITE',
    },
    domain: {
      doc: 'Domain attribute of cookies. Empty: the exact host that set them, the safest.',
      format: String,
      default: '',
      env: 'COOKIE_DOMAIN',
    },
  },
  cors: {
    allowedOrigins: {
      doc: 'Origins (scheme://host[:port], comma-separated) allowed to call the API.',
      format: 'origin-list',
      default: [] as string[],
      env: 'CORS_ALLOWED_ORIGINS',
    },
  },
  rateLimit: {
    max: {
      doc: 'Requests a client may make in a window on routes without a stricter limit.',
      format: 'positive-int',
      default: 300,
      env: 'RATE_LIMIT_MAX',
    },
    windowSeconds: {
      doc: 'Length of the general rate-limit window, in seconds.',
      format: 'positive-int',
      default: 60,
      env: 'RATE_LIMIT_WINDOW_SECONDS',
    },
    authMax: {
      doc: 'Login or refresh attempts a client address or an account may make per window.',
      format: 'positive-int',
      default: 10,
      env: 'RATE_LIMIT_AUTH_MAX',
    },
    authWindowSeconds: {
      doc: 'Length of the auth rate-limit window, in seconds.',
      format: 'positive-int',
      default: 300,
      env: 'RATE_LIMIT_AUTH_WINDOW_SECONDS',
    },
    loginFailuresBeforeBackoff: {
      doc:
        'Login attempts an account may make in an auth window without succeeding; further ones wait until the ' +
        'window ends, even with the right password. Counted before the password is checked, so parallel attempts ' +
        'cannot exceed it; a success clears the count. Unknown emails count alike: the answer reveals no account.',
      format: 'positive-int',
      default: 5,
      env: 'RATE_LIMIT_LOGIN_FAILURES',
    },
  },
  telemetry: {
    metricsEnabled: {
      doc: 'Serve Prometheus metrics at /metrics on the API port (internal network only; nginx never forwards it).',
      format: 'strict-boolean',
      default: true,
      env: 'METRICS_ENABLED',
    },
  },
  backups: {
    dir: {
      doc: 'Folder the backup job writes PostgreSQL and Redis backups into. No backup job exists yet.',
      format: 'non-empty-string',
      default: '/var/backups/pdpl',
      env: 'BACKUP_DIR',
    },
    retentionDays: {
      doc: 'Days a backup is kept before the backup job deletes it. No backup job exists yet.',
      format: 'positive-int',
      default: 14,
      env: 'BACKUP_RETENTION_DAYS',
    },
  },
  secrets: {
    provider: {
      doc: 'Where secrets come from besides secret files: files (Docker secrets only) or infisical.',
      format: SECRET_PROVIDERS,
      default: 'files' as (typeof SECRET_PROVIDERS)[number],
      env: 'SECRETS_PROVIDER',
    },
    infisical: {
      siteUrl: {
        doc:
          'Base URL of the Infisical server, e.g. http://infisical:8080 inside the stack. No user name or password ' +
          'in it: the machine identity logs in with INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET.',
        format: 'url-or-empty',
        default: '',
        env: 'INFISICAL_SITE_URL',
      },
      clientId: {
        doc: 'Client id of the machine identity (universal auth) the API logs in with.',
        format: String,
        default: '',
        env: 'INFISICAL_CLIENT_ID',
      },
      clientSecret: {
        doc: 'Client secret of that machine identity.',
        format: String,
        default: '',
        env: 'INFISICAL_CLIENT_SECRET',
        sensitive: true,
      },
      projectId: { doc: 'Infisical project id.', format: String, default: '', env: 'INFISICAL_PROJECT_ID' },
      environment: {
        doc: 'Infisical environment slug, e.g. prod.',
        format: String,
        default: 'prod',
        env: 'INFISICAL_ENVIRONMENT',
      },
      secretPath: {
        doc: 'Folder of the secrets in Infisical.',
        format: String,
        default: '/',
        env: 'INFISICAL_SECRET_PATH',
      },
      refreshIntervalSeconds: {
        doc: 'How often secrets are fetched again while running, in seconds.',
        format: 'positive-int',
        default: 300,
        env: 'INFISICAL_REFRESH_INTERVAL_SECONDS',
      },
    },
  },
};
