import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/index.ts';
import { NO_DOTENV, problemsOf as problemsFor, scratchFolder } from './support.ts';

const scratch = scratchFolder('sources');
const file = scratch.file;
const problemsOf = (env: Record<string, string>, dotenvPath = NO_DOTENV) => problemsFor({ env, dotenvPath });

describe('configuration sources', () => {
  it('should layer defaults, the config file, variables and secret files in that order', () => {
    const config = file(
      'layers.json',
      JSON.stringify({ server: { port: 4000 }, database: { name: 'from_file', poolMax: 3 } }),
    );
    const password = file('db-password', 'from-the-secret-file');

    const settings = loadConfig({
      env: { CONFIG_FILE: config, DATABASE_NAME: 'from_env', DATABASE_PASSWORD_FILE: password },
      dotenvPath: NO_DOTENV,
    });

    assert.equal(settings.server.port, 4000, 'the file beats the default');
    assert.equal(settings.database.poolMax, 3);
    assert.equal(settings.database.name, 'from_env', 'a variable beats the file');
    assert.equal(settings.database.password, 'from-the-secret-file');
    assert.equal(settings.database.host, 'localhost', 'the default stays where nothing else speaks');
  });

  it('should refuse an unknown key in the config file', () => {
    const config = file('unknown.json', JSON.stringify({ server: { prot: 4000 } }));

    assert.deepEqual(problemsOf({ CONFIG_FILE: config }), ['server.prot: is not a setting']);
  });

  it('should refuse an empty or blank string in the config file, as it refuses an empty variable', () => {
    const config = file(
      'blank.json',
      JSON.stringify({ secrets: { infisical: { clientId: '   ', projectId: '' } }, database: { name: 'named' } }),
    );

    assert.deepEqual(problemsOf({ CONFIG_FILE: config }), [
      'secrets.infisical.clientId: is set but empty',
      'secrets.infisical.projectId: is set but empty',
    ]);
  });

  it('should say where a config file is broken without quoting it', () => {
    // Unquoted, so that JSON.parse's own message would quote the text around it.
    const config = file('broken.json', '{"database": {"password": hunter2-very-secret}}');

    const problems = problemsOf({ CONFIG_FILE: config });

    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /is not valid JSON/);
    assert.doesNotMatch(problems[0] ?? '', /hunter2/);
  });

  it('should refuse dotted keys in the config file, which convict would silently ignore', () => {
    const config = file('dotted.json', JSON.stringify({ 'server.port': 4444 }));

    const problems = problemsOf({ CONFIG_FILE: config });

    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /uses dotted keys: server\.port/);
  });

  it('should let a _FILE in the real environment hide the same secret in .env', () => {
    const dotenv = file('secret.env', 'JWT_SECRET=from-the-dotenv-file-0123456789abcdef\n');
    const secret = file('jwt', 'from-the-real-environment-file-0123456789');

    const settings = loadConfig({ env: { JWT_SECRET_FILE: secret }, dotenvPath: dotenv });

    assert.equal(settings.jwt.secret, 'from-the-real-environment-file-0123456789');
  });

  it('should read .env in development, with the real environment winning', () => {
    const dotenv = file('dev.env', 'PORT=4100\nDATABASE_NAME=from_dotenv\n');

    const settings = loadConfig({ env: { DATABASE_NAME: 'from_env' }, dotenvPath: dotenv });

    assert.equal(settings.server.port, 4100);
    assert.equal(settings.database.name, 'from_env');
  });

  it('should ignore .env outside development', () => {
    const dotenv = file('ignored.env', 'PORT=4200\n');

    const settings = loadConfig({ env: { ENVIRONMENT: 'test' }, dotenvPath: dotenv });

    assert.equal(settings.server.port, 3000);
  });

  it('should refuse a .env file that sets ENVIRONMENT', () => {
    const dotenv = file('sneaky.env', 'ENVIRONMENT=production\n');

    assert.deepEqual(problemsOf({}, dotenv), ['environment: is set in the .env file']);
  });

  it('should refuse a .env file it cannot read, naming the file, instead of failing on it', () => {
    // A folder where the file should be fails to read for root too, unlike a mode of 000.
    const dotenv = join(scratch.path, 'folder.env');
    mkdirSync(dotenv, { recursive: true });

    assert.deepEqual(problemsOf({}, dotenv), [`(.env file): ${dotenv} cannot be read (EISDIR)`]);
  });

  it('should refuse a secret in the config file in production', () => {
    const config = file('secret.json', JSON.stringify({ redis: { password: 'Kd93-hZq1-vP0x-Lm27-Rt55-Wb8n' } }));

    const problems = problemsOf({ ENVIRONMENT: 'production', CONFIG_FILE: config });

    assert.ok(problems.includes('redis.password: is a secret given in the config file'), problems.join('\n'));
  });

  it('should refuse a list of origins with a path, without a scheme, or with a wildcard host', () => {
    const problems = problemsOf({
      CORS_ALLOWED_ORIGINS: 'https://app.example.vn, app.example.vn, https://x.vn/path, https://*.example.vn',
    });

    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^cors\.allowedOrigins: must list origins /);
    assert.ok(problems[0]?.includes('not: app.example.vn, https://x.vn/path, https://*.example.vn:'), problems[0]);
  });

  it('should read a list of origins', () => {
    const settings = loadConfig({
      env: { CORS_ALLOWED_ORIGINS: 'https://app.example.vn, http://localhost:5173' },
      dotenvPath: NO_DOTENV,
    });

    assert.deepEqual(settings.cors.allowedOrigins, ['https://app.example.vn', 'http://localhost:5173']);
  });

  it('should require every Infisical coordinate when Infisical is the provider', () => {
    const problems = problemsOf({ SECRETS_PROVIDER: 'infisical', INFISICAL_SITE_URL: 'http://infisical:8080' });

    assert.deepEqual(problems, [
      'secrets.infisical.clientId: is required when SECRETS_PROVIDER=infisical',
      'secrets.infisical.clientSecret: is required when SECRETS_PROVIDER=infisical',
      'secrets.infisical.projectId: is required when SECRETS_PROVIDER=infisical',
    ]);
  });
});

describe('the Infisical URL', () => {
  const infisical = {
    SECRETS_PROVIDER: 'infisical',
    INFISICAL_CLIENT_ID: 'api-identity',
    INFISICAL_CLIENT_SECRET: 'client-secret-value-5e4d3c',
    INFISICAL_PROJECT_ID: 'project-1',
  };
  const password = 'url-password-9f8e7d';

  const errorFor = (siteUrl: string): ConfigError => {
    try {
      loadConfig({ env: { ...infisical, INFISICAL_SITE_URL: siteUrl }, dotenvPath: NO_DOTENV });
    } catch (error) {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
      return error;
    }
    return assert.fail(`${siteUrl.replace(password, '***')} was accepted`);
  };

  it('should refuse a user name or password in it, pointing at the client id and secret', () => {
    const error = errorFor(`https://ops:${password}@infisical.example.vn`);

    assert.deepEqual(error.problems, [
      {
        key: 'secrets.infisical.siteUrl',
        env: 'INFISICAL_SITE_URL',
        message: 'holds a user name or password',
        fix: 'remove them from the URL; Infisical logs in with INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET_FILE',
      },
    ]);
    assert.ok(!error.message.includes(password), 'the report quotes the password');
  });

  it('should refuse a user name alone, in any environment', () => {
    const error = errorFor('http://ops@infisical:8080');

    assert.deepEqual(
      error.problems.map((problem) => problem.message),
      ['holds a user name or password'],
    );
  });

  it('should never echo a refused URL that holds a password', () => {
    for (const siteUrl of [`ftp://ops:${password}@infisical.example.vn`, `http://ops:${password}@infisical host`]) {
      const error = errorFor(siteUrl);

      assert.deepEqual(
        error.problems.map((problem) => `${problem.env}: ${problem.message}`),
        ['INFISICAL_SITE_URL: must be an http(s) URL'],
      );
      assert.ok(!error.message.includes(password), 'the report quotes the password');
    }
  });
});

describe('production log level', () => {
  it('should default to warn in production, where info would be refused', () => {
    const problems = problemsFor({ env: { ENVIRONMENT: 'production' } });

    assert.ok(!problems.some((problem) => problem.startsWith('log.level')), problems.join('\n'));
  });

  it('should still refuse info when it is asked for', () => {
    const problems = problemsFor({ env: { ENVIRONMENT: 'production', LOG_LEVEL: 'info' } });

    assert.ok(problems.includes('log.level: is "info", which logs too much for production'), problems.join('\n'));
  });
});
