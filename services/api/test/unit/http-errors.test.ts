import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { MAX_TOKEN_LENGTH } from '../../src/auth/authenticate.ts';
import { TokenService } from '../../src/auth/tokens.ts';

// The API with nothing behind it: PostgreSQL and Redis point at a closed port. Everything here must be answered
// by validation and the error handler alone, or fail cleanly.
const settings = loadConfig({
  env: { ENVIRONMENT: 'test', LOG_LEVEL: 'error', DATABASE_PORT: '1', REDIS_PORT: '1', JWT_SECRET: 'x'.repeat(40) },
});
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});
let app: FastifyInstance;

before(async () => {
  app = await buildApp(settings, { logStream });
});
after(() => app.close());

const login = (payload: unknown, contentType = 'application/json') =>
  app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: payload as string,
    headers: { 'content-type': contentType },
  });

describe('API errors', () => {
  it('should name the missing field in a malformed login body', async () => {
    const response = await login({ email: 'ops@example.com' });

    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'VALIDATION_FAILED');
    assert.deepEqual(response.json().error.details, [{ field: 'body.password', problem: 'is required' }]);
  });

  it('should name a malformed email', async () => {
    const response = await login({ email: 'not-an-email', password: 'x' });

    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.details[0].field, 'body.email');
  });

  it('should reject unknown fields instead of dropping them', async () => {
    const response = await login({ email: 'ops@example.com', password: 'x', admin: true });

    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json().error.details, [{ field: 'body.admin', problem: 'is not allowed' }]);
  });

  it('should answer invalid JSON with 400', async () => {
    const response = await login('{"email": ');

    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'VALIDATION_FAILED');
  });

  for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
    it(`should answer a ${contentType} body with 415`, async () => {
      const response = await login('email=a', contentType);

      assert.equal(response.statusCode, 415);
      assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    });
  }

  it('should answer a malformed URL with the catalogue 400, not the framework text', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/%ff' });

    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'VALIDATION_FAILED');
    assert.deepEqual(response.json().error.details, [{ field: 'url', problem: 'is not a valid URL' }]);
    assert.equal(response.headers['x-request-id'], response.json().error.requestId);
    assert.doesNotMatch(response.body, /FST_ERR|%ff/);
  });

  it('should answer an oversized body with 413', async () => {
    const response = await login({ email: 'ops@example.com', password: 'x'.repeat(100_000) });

    assert.equal(response.statusCode, 413);
    assert.equal(response.json().error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('should ask for a token on /v1/me', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/me' });

    assert.equal(response.statusCode, 401);
    assert.equal(response.json().error.code, 'AUTH_REQUIRED');
  });

  it('should send the headers of a JSON API, and neither HSTS nor X-Powered-By over plain HTTP', async () => {
    const { headers } = await app.inject({ method: 'GET', url: '/health/live' });

    assert.equal(
      headers['content-security-policy'],
      "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
    );
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(headers['cross-origin-resource-policy'], 'same-origin');
    assert.equal(headers['strict-transport-security'], undefined);
    assert.equal(headers['x-powered-by'], undefined);
  });

  it('should send the same security headers and no-store on every answer, refusals and failures included', async () => {
    const names = [
      'content-security-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'referrer-policy',
      'x-content-type-options',
      'x-frame-options',
      'cache-control',
    ];
    const pick = (headers: Record<string, unknown>) => Object.fromEntries(names.map((name) => [name, headers[name]]));
    const answers = {
      200: await app.inject({ method: 'GET', url: '/health/live' }),
      '400 URL': await app.inject({ method: 'GET', url: '/v1/%ff' }),
      '400 JSON': await login('{"email":'),
      401: await app.inject({ method: 'GET', url: '/v1/me' }),
      404: await app.inject({ method: 'GET', url: '/nope' }),
      413: await login({ email: 'ops@example.com', password: 'x'.repeat(100_000) }),
      415: await login('email=x', 'application/x-www-form-urlencoded'),
      503: await app.inject({ method: 'GET', url: '/health/ready' }),
    };
    const expected = pick(answers[200].headers);

    assert.equal(expected['cache-control'], 'no-store');
    assert.ok(
      names.every((name) => typeof expected[name] === 'string'),
      JSON.stringify(expected),
    );
    for (const [label, answer] of Object.entries(answers)) {
      assert.equal(String(answer.statusCode), label.split(' ')[0]);
      assert.deepEqual(pick(answer.headers), expected, `the headers of the ${label} answer`);
      assert.match(String(answer.headers['x-request-id']), /\S/, `the request id of the ${label} answer`);
    }
  });

  it('should serve Prometheus metrics, counting requests by route pattern', async () => {
    await app.inject({ method: 'GET', url: '/health/live' });

    const metrics = await app.inject({ method: 'GET', url: '/metrics' });

    assert.equal(metrics.statusCode, 200);
    assert.match(
      metrics.body,
      /http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
    assert.match(metrics.body, /process_resident_memory_bytes/);
  });

  it('should answer an unknown route with the catalogue 404 and the request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'req-12345678' } });

    assert.equal(response.statusCode, 404);
    assert.equal(response.headers['x-request-id'], 'req-12345678');
    assert.equal(response.json().error.requestId, 'req-12345678');
  });

  it('should fail closed with 503 when logout cannot write the revocation', async () => {
    const token = new TokenService(settings).issueSession('user-1').accessToken;

    const response = await app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });

    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'SERVICE_UNAVAILABLE');
  });

  it('should fail closed with 503 when the revocation list cannot be read', async () => {
    const token = new TokenService(settings).issueSession('user-1').accessToken;

    const response = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });

    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'SERVICE_UNAVAILABLE');
  });

  it('should take the Bearer scheme in any case, and call a token that cannot be ours invalid', async () => {
    const tokens = new TokenService(settings);
    const token = tokens.issueSession('user-1').accessToken;
    // Signed with our key, so only its length can refuse it: without the limit it would reach the revocation check.
    const longToken = tokens.issueSession('u'.repeat(MAX_TOKEN_LENGTH)).accessToken;
    const me = (authorization: string) => app.inject({ method: 'GET', url: '/v1/me', headers: { authorization } });

    const lowercase = await me(`bearer ${token}`);
    const otherScheme = await me(`Basic ${token}`);
    const tooLong = await me(`Bearer ${longToken}`);
    const malformed = await me('Bearer not-a-token');

    // Past the token check: the revocation check is next, and Redis is down here.
    assert.equal(lowercase.json().error.code, 'SERVICE_UNAVAILABLE');
    assert.equal(otherScheme.json().error.code, 'AUTH_REQUIRED');
    assert.equal(tooLong.json().error.code, 'AUTH_TOKEN_INVALID');
    assert.equal(malformed.json().error.code, 'AUTH_TOKEN_INVALID');
  });

  it('should fail closed with 503 on login when the attempt count cannot be read', async () => {
    const response = await login({ email: 'ops@example.com', password: 'correct horse battery' });

    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'SERVICE_UNAVAILABLE');
    assert.doesNotMatch(response.body, /ECONNREFUSED|at \w+ \(|\.ts:\d+/);
    assert.ok(
      logLines.some((line) => line.includes('RedisUnavailableError')),
      'the cause goes to the log instead',
    );
  });

  it('should report not ready while PostgreSQL and Redis are down', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });

    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { status: 'unavailable', postgres: 'down', redis: 'down' });
  });

  it('should stay live while PostgreSQL and Redis are down', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });

    assert.equal(response.statusCode, 200);
  });
});
