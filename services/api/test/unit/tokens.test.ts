import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@pdpl/config';
import { createSigner } from 'fast-jwt';
import { KeyRing, keyIdOf } from '../../src/auth/key-ring.ts';
import { InvalidTokenError, TokenService } from '../../src/auth/tokens.ts';

const OLD_KEY = 'unit-test-old-key-0123456789-abcdefghijklmnop';
const NEW_KEY = 'unit-test-new-key-9876543210-zyxwvutsrqponmlk';
const settingsWith = (secret: string, previous?: string) =>
  loadConfig({
    env: { ENVIRONMENT: 'test', JWT_SECRET: secret, ...(previous ? { JWT_PREVIOUS_SECRET: previous } : {}) },
  });
const settings = settingsWith(OLD_KEY);
const tokens = new TokenService(settings);
const session = { userId: 'user-1', family: 'family-1', startedAt: Date.now() };

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (overrides: object = {}) => ({
  sub: 'user-1',
  jti: 'token-1',
  typ: 'access',
  fam: 'family-1',
  sat: Date.now(),
  iss: 'pdpl-api',
  iat: now(),
  exp: now() + 60,
  ...overrides,
});
/** A token signed the way an attacker holding (or guessing) `key` would sign it. */
const signed = (payload: object, key = OLD_KEY, kid = keyIdOf(OLD_KEY), algorithm: 'HS256' | 'HS512' = 'HS256') =>
  createSigner({ key, algorithm, kid })(payload);

describe('TokenService', () => {
  it('should verify the access token it issued, naming its key by id', () => {
    const pair = tokens.issueSession('user-1');

    const verified = tokens.verify(pair.accessToken, 'access');
    const header = JSON.parse(Buffer.from(pair.accessToken.split('.')[0] as string, 'base64url').toString());

    assert.equal(verified.sub, 'user-1');
    assert.equal(verified.sat, pair.session.startedAt);
    assert.equal(header.kid, keyIdOf(OLD_KEY));
    assert.equal(header.alg, 'HS256');
    assert.equal(pair.expiresIn, settings.jwt.accessTtlSeconds);
  });

  it('should give both tokens of a login one new family, and keep it across refreshes', () => {
    const first = tokens.issueSession('user-1');
    const access = tokens.verify(first.accessToken, 'access');
    const refresh = tokens.verify(first.refreshToken, 'refresh');
    const next = tokens.verify(
      tokens.issuePair({ ...session, family: refresh.fam, startedAt: refresh.sat }).accessToken,
      'access',
    );
    const other = tokens.verify(tokens.issueSession('user-1').accessToken, 'access');

    assert.equal(access.fam, refresh.fam);
    assert.equal(next.fam, refresh.fam);
    assert.equal(next.sat, refresh.sat, 'a refresh keeps the session start');
    assert.notEqual(other.fam, refresh.fam);
    assert.notEqual(access.jti, refresh.jti);
  });

  it('should refuse a refresh token where an access token is expected', () => {
    const pair = tokens.issuePair(session);

    assert.throws(() => tokens.verify(pair.refreshToken, 'access'), InvalidTokenError);
  });

  it('should refuse an unsigned token (alg: none), even naming a known key', () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT', kid: keyIdOf(OLD_KEY) })}.${base64url(claims())}.`;

    assert.throws(() => tokens.verify(unsigned, 'access'), InvalidTokenError);
  });

  it('should refuse a token whose payload was changed after signing', () => {
    const [header, , signature] = tokens.issuePair(session).accessToken.split('.');
    const tampered = `${header}.${base64url(claims({ sub: 'admin' }))}.${signature}`;

    assert.throws(() => tokens.verify(tampered, 'access'), InvalidTokenError);
  });

  it('should refuse a token signed with another HMAC algorithm, even with the right key', () => {
    assert.throws(
      () => tokens.verify(signed(claims(), OLD_KEY, keyIdOf(OLD_KEY), 'HS512'), 'access'),
      InvalidTokenError,
    );
  });

  it('should refuse a token signed with another key under a known key id', () => {
    const forged = signed(claims(), 'another-key-0123456789-abcdefghijklmnopq', keyIdOf(OLD_KEY));

    assert.throws(() => tokens.verify(forged, 'access'), InvalidTokenError);
  });

  it('should refuse a token with an unknown key id, or none', () => {
    const unknownKid = signed(claims(), OLD_KEY, 'not-a-key-of-ours');
    const noKid = createSigner({ key: OLD_KEY })(claims());

    assert.throws(() => tokens.verify(unknownKid, 'access'), /names no key/);
    assert.throws(() => tokens.verify(noKid, 'access'), /names no key/);
  });

  it('should refuse expired and not-yet-valid tokens', () => {
    const expired = signed(claims({ iat: now() - 7200, exp: now() - 3600 }));
    const early = signed(claims({ nbf: now() + 3600 }));

    assert.throws(() => tokens.verify(expired, 'access'), InvalidTokenError);
    assert.throws(() => tokens.verify(early, 'access'), InvalidTokenError);
  });

  it('should refuse a token from another issuer, or missing a claim the API relies on', () => {
    const { fam: _fam, ...withoutFamily } = claims();

    assert.throws(() => tokens.verify(signed(claims({ iss: 'someone-else' })), 'access'), InvalidTokenError);
    assert.throws(() => tokens.verify(signed(withoutFamily), 'access'), InvalidTokenError);
    assert.throws(() => tokens.verify(signed(claims({ sat: -1 })), 'access'), InvalidTokenError);
  });
});

describe('key rotation', () => {
  const before = tokens.issuePair(session);
  const rotated = new TokenService(settingsWith(NEW_KEY, OLD_KEY));
  const retired = new TokenService(settingsWith(NEW_KEY, 'a-fresh-key-that-never-signed-0123456789abcd'));

  it('should keep accepting tokens of the previous key after a rotation', () => {
    assert.equal(rotated.verify(before.accessToken, 'access').sub, 'user-1');
    assert.equal(rotated.verify(before.refreshToken, 'refresh').sub, 'user-1');
  });

  it('should sign new tokens with the new key only', () => {
    const after = rotated.issuePair(session);
    const kid = JSON.parse(Buffer.from(after.accessToken.split('.')[0] as string, 'base64url').toString()).kid;

    assert.equal(kid, keyIdOf(NEW_KEY));
    assert.throws(() => tokens.verify(after.accessToken, 'access'), /names no key/);
  });

  it('should refuse tokens of a retired key, and keep those of the current one', () => {
    const current = rotated.issuePair(session);

    assert.throws(() => retired.verify(before.accessToken, 'access'), /names no key/);
    assert.equal(retired.verify(current.accessToken, 'access').sub, 'user-1');
  });

  it('should derive key ids that name a key without revealing it, the same on every instance', () => {
    const ring = new KeyRing(NEW_KEY, OLD_KEY);

    assert.deepEqual(
      ring.keys.map((key) => key.id),
      [keyIdOf(NEW_KEY), keyIdOf(OLD_KEY)],
    );
    assert.match(keyIdOf(NEW_KEY), /^[0-9a-f]{16}$/);
    assert.ok(!NEW_KEY.includes(keyIdOf(NEW_KEY)));
    assert.equal(new KeyRing(NEW_KEY, NEW_KEY).keys.length, 1);
  });
});
