import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FAULT_TEXT } from '../../../../config/test/fixtures/without-infisical-sdk.ts';
import { assertNonePrinted, MIGRATE, SCRATCH, startApiProcess, WITHOUT_INFISICAL_SDK } from './api-process.ts';
import { RefusingPostgres } from './fixtures/refusing-postgres.ts';

// The one-shot commands (runCli: migrate, create-user), as their containers run them: exit 1 for invalid
// configuration, 2 for any other failure, each with a message that carries no secret.

describe('one-shot command process', () => {
  it('should exit 1 with the one report for invalid configuration', async () => {
    const migrate = startApiProcess(MIGRATE, { DATABASE_PORT: '0', LOG_LEVEL: 'loud' });

    const [code] = await migrate.exited;

    assert.equal(code, 1, migrate.output());
    assert.match(migrate.output(), /^migrate: Invalid configuration, 2 problems:\n/);
    assert.match(migrate.output(), /^- database\.port \(DATABASE_PORT\): must be a whole number from 1 to 65535\. /m);
    assert.match(migrate.output(), /^- log\.level \(LOG_LEVEL\): must be one of the possible values: /m);
  });

  it('should exit 2 with one line naming what failed when loading fails for another reason', async () => {
    const clientSecret = 'client-secret-value-2b3c4d5e6f';
    const env = {
      SECRETS_PROVIDER: 'infisical',
      INFISICAL_SITE_URL: 'http://127.0.0.1:9',
      INFISICAL_CLIENT_ID: 'migrate-identity',
      INFISICAL_CLIENT_SECRET: clientSecret,
      INFISICAL_PROJECT_ID: 'project-1',
    };
    const migrate = startApiProcess(MIGRATE, env, { preload: WITHOUT_INFISICAL_SDK });

    const [code] = await migrate.exited;

    assert.equal(code, 2, migrate.output());
    assert.equal(
      migrate.output(),
      'migrate: FAIL: loading the settings failed with Error [ERR_MODULE_NOT_FOUND], which is no configuration ' +
        'problem (its message is withheld: it may quote a secret)\n',
    );
    assertNonePrinted([FAULT_TEXT, clientSecret], migrate.output());
  });

  it('should exit 2 naming the refused database login, and print no password', async () => {
    const postgres = await RefusingPostgres.start();
    after(() => postgres.close());
    const password = 'owner-password-4e5f6a7b8c9d';
    const passwordFile = join(SCRATCH, 'owner-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });

    const migrate = startApiProcess(MIGRATE, {
      LOG_LEVEL: 'trace',
      DATABASE_HOST: '127.0.0.1',
      DATABASE_PORT: String(postgres.port),
      DATABASE_USER: 'pdpl_owner',
      DATABASE_PASSWORD_FILE: passwordFile,
    });
    const [code] = await migrate.exited;

    assert.equal(code, 2, migrate.output());
    assert.equal(migrate.output(), 'migrate: FAIL: password authentication failed for user "pdpl_owner"\n');
    assert.deepEqual(postgres.passwords, [password], 'the password was sent');
    assertNonePrinted([password], migrate.output());
  });
});
