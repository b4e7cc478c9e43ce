import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@pdpl/config';
import { createSigner } from 'fast-jwt';
import { InvalidTokenError, TokenService } from '../../src/auth/tokens.ts';

const secret = 'unit-test-secret-0123456789-abcdefghijklmnop';
const settings = loadConfig({ env: { ENVIRONMENT: 'test', JWT_SECRET: secret } });
const tokens = new TokenService(settings);

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = (overrides: object = {}) => ({
  sub: 'user-1',
  jti: 'token-1',
  typ: 'access',
  iss: 'pdpl-api',
  exp: Math.floor(Date.now() / 1000) + 60,
  ...overrides,
});

describe('TokenService', () => {
  it('should verify the access token it issued', () => {
    const pair = tokens.issuePair('user-1');

    const verified = tokens.verify(pair.accessToken, 'access');

    assert.equal(verified.sub, 'user-1');
    assert.equal(verified.typ, 'access');
    assert.equal(pair.expiresIn, settings.jwt.accessTtlSeconds);
  });

  it('should refuse a refresh token where an access token is expected', () => {
    const pair = tokens.issuePair('user-1');

    assert.throws(() => tokens.verify(pair.refreshToken, 'access'), InvalidTokenError);
  });

  it('should refuse an unsigned token (alg: none)', () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`;

    assert.throws(() => tokens.verify(unsigned, 'access'), InvalidTokenError);
  });

  it('should refuse a token whose payload was changed after signing', () => {
    const [header, , signature] = tokens.issuePair('user-1').accessToken.split('.');
    const tampered = `${header}.${base64url(claims({ sub: 'admin' }))}.${signature}`;

    assert.throws(() => tokens.verify(tampered, 'access'), InvalidTokenError);
  });

  it('should refuse a token signed with another HMAC algorithm, even with the right key', () => {
    const hs512 = createSigner({ key: secret, algorithm: 'HS512' })(claims());

    assert.throws(() => tokens.verify(hs512, 'access'), InvalidTokenError);
  });

  it('should refuse a token signed with another key', () => {
    const forged = createSigner({ key: 'another-key-0123456789-abcdefghijklmnopq' })(claims());

    assert.throws(() => tokens.verify(forged, 'access'), InvalidTokenError);
  });

  it('should refuse an expired token', () => {
    const expired = createSigner({ key: secret })(claims({ exp: Math.floor(Date.now() / 1000) - 3600 }));

    assert.throws(() => tokens.verify(expired, 'access'), InvalidTokenError);
  });

  it('should refuse a token from another issuer', () => {
    const foreign = createSigner({ key: secret })(claims({ iss: 'someone-else' }));

    assert.throws(() => tokens.verify(foreign, 'access'), InvalidTokenError);
  });
});
