import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copySecrets, e2eStack, https, npmScript, removeStack, startFresh } from './compose-stack.ts';

// README.md, "Rotating the token signing key", step by step on a stack of its own, with a copy of the secrets so the
// rotation touches no other stack.

const scratch = mkdtempSync(join(tmpdir(), 'pdpl-rotation-'));
const stack = e2eStack('pdpl-rotation', 20080, 20443, { subnet: '172.30.85.0/24' });
stack.env.PDPL_SECRETS_DIR = copySecrets(join(scratch, 'secrets'));
const EMAIL = 'rotation@example.com';
const PASSWORD = 'a long password, typed once';

before(() => startFresh(stack, [EMAIL], PASSWORD));

after(async () => {
  await removeStack(stack);
  rmSync(scratch, { recursive: true, force: true });
});

const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid;
const me = async (token: string) => (await https(stack, 'GET', '/v1/me', { token })).status;
async function login() {
  const body = { email: EMAIL, password: PASSWORD, refreshTransport: 'body' };
  const response = await https(stack, 'POST', '/v1/auth/login', { body });
  assert.equal(response.status, 200, response.body);
  return JSON.parse(response.body) as { accessToken: string; refreshToken: string };
}

describe('rotating the token signing key on the running stack', () => {
  let beforeRotation: { accessToken: string; refreshToken: string };
  let afterRotation: { accessToken: string; refreshToken: string };

  it('should keep tokens of the old key working after npm run jwt:rotate, and sign with the new key', async () => {
    beforeRotation = await login();

    await npmScript(stack, 'jwt:rotate');
    afterRotation = await login();
    const refreshed = await https(stack, 'POST', '/v1/auth/refresh', {
      body: { refreshToken: beforeRotation.refreshToken },
    });

    assert.equal(await me(beforeRotation.accessToken), 200, 'nobody is logged out by a rotation');
    assert.notEqual(kidOf(afterRotation.accessToken), kidOf(beforeRotation.accessToken));
    assert.equal(refreshed.status, 200);
    assert.equal(kidOf(JSON.parse(refreshed.body).accessToken), kidOf(afterRotation.accessToken));
  });

  it('should refuse tokens of the old key after npm run jwt:rotate -- --retire, and keep the new ones', async () => {
    await npmScript(stack, 'jwt:rotate', ['--retire']);

    const old = await https(stack, 'GET', '/v1/me', { token: beforeRotation.accessToken });

    assert.equal(old.status, 401);
    assert.equal(JSON.parse(old.body).error.code, 'AUTH_TOKEN_INVALID');
    assert.equal(await me(afterRotation.accessToken), 200);
  });
});
