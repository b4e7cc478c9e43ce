import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { e2eStack, https, npmScript, removeStack, startFresh } from './compose-stack.ts';

const stack = e2eStack('pdpl-e2e', 18080, 18443, { subnet: '172.30.81.0/24' });
const EMAIL = 'e2e-operator@example.com';
const PASSWORD = 'a long password, typed once';

const login = () => https(stack, 'POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });

before(() => startFresh(stack, [EMAIL], PASSWORD));
after(() => removeStack(stack));

describe('the compose stack, through nginx over TLS', () => {
  it('should redirect plain HTTP to the configured HTTPS origin, whatever Host the client sends', async () => {
    const url = `http://127.0.0.1:${stack.httpPort}/v1/me?x=1`;

    const plain = await fetch(url, { redirect: 'manual' });
    const forged = await fetch(url, { redirect: 'manual', headers: { host: 'evil.example' } });

    assert.equal(plain.status, 301);
    assert.equal(plain.headers.get('location'), `https://localhost:${stack.httpsPort}/v1/me?x=1`);
    assert.equal(forged.headers.get('location'), `https://localhost:${stack.httpsPort}/v1/me?x=1`);
  });

  it('should answer an oversized body at the edge with the catalogue JSON, not an HTML page', async () => {
    const body = { email: EMAIL, password: 'x'.repeat(70_000) };

    const response = await https(stack, 'POST', '/v1/auth/login', { body });

    assert.equal(response.status, 413);
    assert.equal(JSON.parse(response.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(JSON.parse(response.body).error.requestId, response.headers['x-request-id']);
  });

  it('should log in, read /v1/me, log out, and then refuse the same token', async () => {
    const loggedIn = await login();
    const { accessToken } = JSON.parse(loggedIn.body);

    const me = await https(stack, 'GET', '/v1/me', { token: accessToken });
    const logout = await https(stack, 'POST', '/v1/auth/logout', { token: accessToken });
    const after = await https(stack, 'GET', '/v1/me', { token: accessToken });

    assert.equal(loggedIn.status, 200);
    assert.match(String(loggedIn.headers['strict-transport-security']), /max-age=\d+/);
    assert.equal(me.status, 200);
    assert.equal(JSON.parse(me.body).email, EMAIL);
    assert.equal(logout.status, 204);
    assert.equal(after.status, 401);
    assert.equal(JSON.parse(after.body).error.code, 'AUTH_TOKEN_REVOKED');
  });

  it('should refuse a wrong password with 401 and no hint about the email', async () => {
    const response = await https(stack, 'POST', '/v1/auth/login', { body: { email: EMAIL, password: 'wrong!' } });

    assert.equal(response.status, 401);
    assert.equal(JSON.parse(response.body).error.code, 'AUTH_INVALID_CREDENTIALS');
  });

  it('should refuse to create a user that exists, with a usage exit code', async () => {
    await assert.rejects(npmScript(stack, 'user:create', ['--email', EMAIL], `${PASSWORD}\n`), (error: Error) => {
      assert.equal((error as { code?: number }).code, 64);
      assert.match(String((error as { stderr?: string }).stderr), /already exists/);
      return true;
    });
  });

  it('should keep users across npm run down and npm run up', async () => {
    await npmScript(stack, 'down');
    await npmScript(stack, 'up');

    const response = await login();

    assert.equal(response.status, 200);
  });
});
