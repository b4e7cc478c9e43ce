import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { InfisicalError, type InfisicalOptions, InfisicalSecretProvider } from '../src/secret-providers/infisical.ts';
import { FakeInfisical, type FakeInfisicalOptions } from './fixtures/fake-infisical.ts';

const CLIENT_SECRET = 'cs-4f1c9b7e2d-client-secret-never-printed';
const SECRETS = {
  JWT_SECRET: 'jwt-value-8c2f1a6e9b4d7c3f0a5e8b1d4c7f2a9e',
  REDIS_PASSWORD: 'redis-value-+/=$@:-3b9e',
  DATABASE_PASSWORD: 'db-value-+/=$@:-7d1a',
};
const IDENTITY = {
  clientId: '2f1d6c3e-5a7b-4c8d-9e0f-1a2b3c4d5e6f',
  clientSecret: CLIENT_SECRET,
  projectId: 'b7c3e9f1-pdpl',
  environment: 'prod',
  secretPath: '/api',
};

const fakes: FakeInfisical[] = [];
const providers: InfisicalSecretProvider[] = [];
afterEach(async () => {
  for (const provider of providers.splice(0)) provider.stop();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function startFake(overrides: Partial<FakeInfisicalOptions> = {}): Promise<FakeInfisical> {
  const fake = await FakeInfisical.start({ ...IDENTITY, secrets: SECRETS, ...overrides });
  fakes.push(fake);
  return fake;
}

async function connect(siteUrl: string, overrides: Partial<InfisicalOptions> = {}): Promise<InfisicalSecretProvider> {
  const provider = await InfisicalSecretProvider.connect({
    ...IDENTITY,
    siteUrl,
    refreshIntervalSeconds: 300,
    ...overrides,
  });
  providers.push(provider);
  return provider;
}

/** The error a promise rejects with, asserted to be an InfisicalError. */
async function failure(promise: Promise<unknown>): Promise<InfisicalError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof InfisicalError, `expected an InfisicalError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** A port that was just free: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function waitFor<T>(register: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve) => register(resolve));
}

describe('InfisicalSecretProvider', () => {
  it('should log in and fetch the named secrets with one list call', async () => {
    const fake = await startFake();

    const provider = await connect(fake.url);
    const secrets = await provider.fetchSecrets(['JWT_SECRET', 'REDIS_PASSWORD']);

    assert.deepEqual(
      secrets,
      new Map([
        ['JWT_SECRET', SECRETS.JWT_SECRET],
        ['REDIS_PASSWORD', SECRETS.REDIS_PASSWORD],
      ]),
    );
    assert.equal(fake.logins, 1);
    assert.equal(fake.listCalls, 1);
    assert.equal(fake.lastListQuery?.get('workspaceId'), IDENTITY.projectId);
    assert.equal(fake.lastListQuery?.get('environment'), 'prod');
    assert.equal(fake.lastListQuery?.get('secretPath'), '/api');
    assert.equal(fake.lastListQuery?.get('viewSecretValue'), 'true');
  });

  it('should keep the base path of the site URL in front of the API paths', async () => {
    const fake = await startFake();

    // The fake serves at the root only, so a request that kept /infisical finds no route.
    const error = await failure(connect(`${fake.url}/infisical`));

    assert.equal(error.reason, 'unexpected');
    assert.equal(error.status, 404);
    assert.match(error.message, /answered the universal-auth login with 404/);
  });

  it('should refuse a wrong client secret as bad-credentials without repeating it', async () => {
    const fake = await startFake();

    const error = await failure(connect(fake.url, { clientSecret: 'wrong-secret-value' }));

    assert.equal(error.reason, 'bad-credentials');
    assert.equal(error.status, 401);
    assert.match(error.message, new RegExp(`Infisical at ${fake.url} refused the universal-auth login`));
    assert.match(error.message, /INFISICAL_CLIENT_SECRET_FILE/);
    assert.doesNotMatch(inspect(error), /wrong-secret-value/);
    assert.equal(fake.failedLogins, 1);
  });

  it('should fail quickly as unreachable when nothing listens', async () => {
    const siteUrl = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();

    const error = await failure(connect(siteUrl));

    assert.equal(error.reason, 'unreachable');
    assert.match(
      error.message,
      new RegExp(`Infisical at ${siteUrl} cannot be reached: no connection \\(ECONNREFUSED\\)`),
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('should give up on a server that never answers within the timeout', async () => {
    const fake = await startFake();
    fake.loginHangs = true;
    const started = Date.now();

    const error = await failure(connect(fake.url, { timeoutMs: 300 }));

    assert.equal(error.reason, 'unreachable');
    assert.match(error.message, /no answer within 0.3 s/);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('should name every missing key and no value', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url);

    const error = await failure(provider.fetchSecrets(['JWT_SECRET', 'COOKIE_SECRET', 'BACKUP_KEY']));

    assert.equal(error.reason, 'missing-secret');
    assert.deepEqual(error.keys, ['COOKIE_SECRET', 'BACKUP_KEY']);
    assert.match(error.message, /has no secret COOKIE_SECRET, BACKUP_KEY/);
    assert.match(error.message, /project b7c3e9f1-pdpl, environment prod, path \/api/);
    assert.doesNotMatch(error.message, /JWT_SECRET/);
  });

  it('should treat an unknown environment or path as every key missing', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url, { environment: 'staging' });

    const error = await failure(provider.fetchSecrets(['JWT_SECRET']));

    assert.equal(error.reason, 'missing-secret');
    assert.equal(error.status, 404);
    assert.deepEqual(error.keys, ['JWT_SECRET']);
  });

  it('should report forbidden when Infisical answers the list with 403', async () => {
    const fake = await startFake();
    fake.listStatus = 403;
    const provider = await connect(fake.url);

    const error = await failure(provider.fetchSecrets(['JWT_SECRET']));

    assert.equal(error.reason, 'forbidden');
    assert.equal(error.status, 403);
    assert.match(error.message, /does not let client id 2f1d6c3e-5a7b-4c8d-9e0f-1a2b3c4d5e6f read its secrets/);
  });

  it('should report forbidden when the login comes from an untrusted address', async () => {
    const fake = await startFake();
    fake.loginStatus = 403;

    const error = await failure(connect(fake.url));

    assert.equal(error.reason, 'forbidden');
    assert.match(error.message, /trusted IPs/);
  });

  it('should report forbidden for a key whose value is hidden from the identity', async () => {
    const fake = await startFake();
    fake.hidden.add('REDIS_PASSWORD');
    const provider = await connect(fake.url);

    const error = await failure(provider.fetchSecrets(['JWT_SECRET', 'REDIS_PASSWORD']));

    assert.equal(error.reason, 'forbidden');
    assert.deepEqual(error.keys, ['REDIS_PASSWORD']);
  });

  it('should pick up a changed value on refresh and stop when told', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url, { refreshIntervalSeconds: 0.05 });
    await provider.fetchSecrets(['JWT_SECRET']);

    fake.secrets.set('JWT_SECRET', 'jwt-value-rotated-5e8b1d4c7f2a9e8c2f1a6e9b');
    const updated = await waitFor<Map<string, string>>((resolve) =>
      provider.startRefresh(['JWT_SECRET'], resolve, (error) => assert.fail(error)),
    );
    provider.stop();
    const callsAfterStop = fake.listCalls;
    await sleep(200);

    assert.equal(updated.get('JWT_SECRET'), 'jwt-value-rotated-5e8b1d4c7f2a9e8c2f1a6e9b');
    assert.equal(fake.listCalls, callsAfterStop);
  });

  it('should not call onUpdate while nothing changed', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url, { refreshIntervalSeconds: 0.05 });
    await provider.fetchSecrets(['JWT_SECRET']);
    let updates = 0;

    provider.startRefresh(
      ['JWT_SECRET'],
      () => {
        updates += 1;
      },
      (error) => assert.fail(error),
    );
    await sleep(300);

    assert.equal(updates, 0);
    assert.ok(fake.listCalls >= 3, `only ${fake.listCalls} list calls`);
  });

  it('should report a failed refresh through onError and keep refreshing', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url, { refreshIntervalSeconds: 0.05 });
    await provider.fetchSecrets(['JWT_SECRET']);
    fake.listStatus = 403;

    const error = await waitFor<InfisicalError>((resolve) =>
      provider.startRefresh(['JWT_SECRET'], () => assert.fail('no update expected'), resolve),
    );
    fake.listStatus = undefined;
    fake.secrets.set('JWT_SECRET', 'jwt-value-after-the-outage-0a5e8b1d4c7f2a9e');
    provider.stop();
    const updated = await waitFor<Map<string, string>>((resolve) =>
      provider.startRefresh(['JWT_SECRET'], resolve, () => {}),
    );

    assert.equal(error.reason, 'forbidden');
    assert.equal(updated.get('JWT_SECRET'), 'jwt-value-after-the-outage-0a5e8b1d4c7f2a9e');
  });

  it('should log in again before using a token past its expiresIn', async () => {
    const fake = await startFake({ expiresIn: 1, accessTokenMaxTTL: 2 });
    const provider = await connect(fake.url);

    await sleep(1000);
    const secrets = await provider.fetchSecrets(['JWT_SECRET']);

    assert.equal(secrets.get('JWT_SECRET'), SECRETS.JWT_SECRET);
    assert.equal(fake.logins, 2);
    assert.equal(fake.rejectedTokens, 0, 'the expired token was sent to Infisical');
  });

  it('should log in again when the token reaches its accessTokenMaxTTL', async () => {
    // A token that never expires on its own still ends at its maximum lifetime.
    const fake = await startFake({ expiresIn: 0, accessTokenMaxTTL: 1 });
    const provider = await connect(fake.url);
    await provider.fetchSecrets(['JWT_SECRET']);

    await sleep(1000);
    await provider.fetchSecrets(['JWT_SECRET']);

    assert.equal(fake.logins, 2);
    assert.equal(fake.rejectedTokens, 0, 'the outlived token was sent to Infisical');
  });

  it('should log in again once when Infisical rejects a token early', async () => {
    const fake = await startFake();
    const provider = await connect(fake.url);

    fake.revokeTokens();
    const secrets = await provider.fetchSecrets(['REDIS_PASSWORD']);

    assert.equal(secrets.get('REDIS_PASSWORD'), SECRETS.REDIS_PASSWORD);
    assert.equal(fake.logins, 2);
    assert.equal(fake.rejectedTokens, 1);
  });

  it('should never show the client secret, a token or a value in any error', async () => {
    const fake = await startFake();
    const collected: unknown[] = [];
    const collect = async (promise: Promise<unknown>) => collected.push(await failure(promise));
    const provider = await connect(fake.url);
    await provider.fetchSecrets(Object.keys(SECRETS));

    await collect(connect(fake.url, { clientSecret: `${CLIENT_SECRET}-but-wrong` }));
    await collect(connect(`http://127.0.0.1:${await closedPort()}`));
    await collect(provider.fetchSecrets(['JWT_SECRET', 'NOT_THERE']));
    fake.hidden.add('JWT_SECRET');
    await collect(provider.fetchSecrets(['JWT_SECRET']));
    fake.listStatus = 403;
    await collect(provider.fetchSecrets(['REDIS_PASSWORD']));
    fake.listStatus = 500;
    await collect(provider.fetchSecrets(['REDIS_PASSWORD']));
    fake.listStatus = undefined;
    fake.revokeTokens();
    fake.loginStatus = 401;
    await collect(provider.fetchSecrets(['DATABASE_PASSWORD']));

    const forbidden = [CLIENT_SECRET, ...fake.issuedTokens, ...Object.values(SECRETS)];
    const printed = [...collected, provider].flatMap((item) => [
      String(item),
      JSON.stringify(item),
      inspect(item, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      item instanceof Error ? `${item.stack} ${inspect(item.cause)}` : '',
    ]);
    assert.equal(collected.length, 7);
    assert.ok(fake.issuedTokens.length >= 1);
    for (const text of printed) {
      for (const secret of forbidden) assert.ok(!text.includes(secret), `leaked ${secret.slice(0, 8)}… in ${text}`);
    }
  });
});
