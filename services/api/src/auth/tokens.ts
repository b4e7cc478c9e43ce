import { randomUUID } from 'node:crypto';
import type { Settings } from '@pdpl/config';
import { createSigner, createVerifier } from 'fast-jwt';
import { KeyRing } from './key-ring.js';

export type TokenKind = 'access' | 'refresh';

export interface TokenClaims {
  readonly sub: string;
  readonly jti: string;
  readonly typ: TokenKind;
  /** The session (login) the token belongs to: every access and refresh token descended from one login. */
  readonly fam: string;
  /** When the session (the login) started, in ms since the epoch; kept by every refresh. "Log out everywhere"
   * ends every session of the user that started before it. */
  readonly sat: number;
  /** Issued at, in seconds since the epoch. */
  readonly iat: number;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  readonly expiresIn: number;
  /** Seconds until the refresh token expires. */
  readonly refreshExpiresIn: number;
}

/** A pair as issued: with its session, and its refresh token's id, which the session store records as the one
 * of the session that may be spent. */
export interface IssuedPair extends TokenPair {
  readonly session: Session;
  readonly refreshTokenId: string;
}

export interface Session {
  readonly userId: string;
  readonly family: string;
  /** When the session started, in ms since the epoch. */
  readonly startedAt: number;
}

export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

type Verify = (token: string) => TokenClaims;

// HS256 only, fixed here: the algorithm named in a token's header is never trusted (no `none`, no key confusion).
const ALGORITHM = 'HS256';
const REQUIRED_CLAIMS = ['sub', 'jti', 'typ', 'fam', 'sat', 'iat', 'exp', 'iss'];
const VERIFIED_CACHE_SIZE = 10_000;

/** The `kid` of a token's header (its first segment), read only to choose the key that will verify the token. */
function headerKeyId(header: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed?.kid === 'string' ? parsed.kid : undefined;
  } catch {
    return undefined;
  }
}

// Every token a key signs has the same header, so the verifier is looked up by the header's text after the first
// time. Only headers naming a key of the ring are remembered, and only so many: a stranger cannot fill the map.
const REMEMBERED_HEADERS = 64;

/** Issues and verifies the API's tokens with the key ring: the current key signs, every key in the ring verifies. */
/** What a key ring makes: the signers of the current key and a verifier for each key. */
interface Keys {
  readonly sign: Record<TokenKind, (payload: object) => string>;
  readonly verifiers: ReadonlyMap<string, Verify>;
  readonly verifierByHeader: Map<string, Verify>;
}

export class TokenService {
  #keys: Keys;
  readonly #settings: Settings['jwt'];
  readonly #accessTtl: number;
  readonly #refreshTtl: number;

  constructor(settings: Settings, ring: KeyRing = KeyRing.fromSettings(settings)) {
    this.#settings = settings.jwt;
    this.#accessTtl = settings.jwt.accessTtlSeconds;
    this.#refreshTtl = settings.jwt.refreshTtlSeconds;
    this.#keys = this.#keysOf(ring);
  }

  /**
   * Signs with the ring's current key and verifies with its keys from now on (a key rotated in the secret manager):
   * tokens of a key left out of the ring stop verifying at once, remembered verifications included.
   */
  useKeys(ring: KeyRing): void {
    this.#keys = this.#keysOf(ring);
  }

  #keysOf(ring: KeyRing): Keys {
    const { issuer, accessTtlSeconds, refreshTtlSeconds } = this.#settings;
    const { id, secret } = ring.current;
    const signer = (ttl: number) =>
      createSigner({ key: secret, algorithm: ALGORITHM, kid: id, iss: issuer, expiresIn: ttl * 1000 });
    const sign = { access: signer(accessTtlSeconds), refresh: signer(refreshTtlSeconds) };
    const verifier = (key: string) =>
      createVerifier({
        key,
        algorithms: [ALGORITHM],
        allowedIss: issuer,
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: 5_000,
        // Tokens that verified are remembered, never past their expiry: a client sends the same access token many
        // times. Revocation is checked apart, on every request. The key is the token itself: fast-jwt's default
        // (a SHA hash, after decoding the header again) costs as much as verifying; an exact string cannot collide,
        // and this process holds the tokens it is sent anyway.
        cache: VERIFIED_CACHE_SIZE,
        cacheKeyBuilder: (token: string) => token,
      }) as Verify;
    const verifiers = new Map(ring.keys.map((key) => [key.id, verifier(key.secret)]));
    return { sign, verifiers, verifierByHeader: new Map() };
  }

  /** A new login: a new session, its family id carried by both tokens. */
  issueSession(userId: string): IssuedPair {
    return this.issuePair({ userId, family: randomUUID(), startedAt: Date.now() });
  }

  /** The next pair of an existing session (after a refresh): same family, same start. */
  issuePair(session: Session): IssuedPair {
    const { userId, family, startedAt } = session;
    const refreshTokenId = randomUUID();
    const claims = (typ: TokenKind, jti: string) => ({ sub: userId, jti, typ, fam: family, sat: startedAt });
    return {
      accessToken: this.#keys.sign.access(claims('access', randomUUID())),
      refreshToken: this.#keys.sign.refresh(claims('refresh', refreshTokenId)),
      tokenType: 'Bearer',
      expiresIn: this.#accessTtl,
      refreshExpiresIn: this.#refreshTtl,
      session,
      refreshTokenId,
    };
  }

  /** The token's claims when it is authentic, unexpired and of the expected kind; otherwise InvalidTokenError. */
  verify(token: string, kind: TokenKind): TokenClaims {
    const verify = this.#verifierFor(token.slice(0, Math.max(0, token.indexOf('.'))));
    if (!verify) throw new InvalidTokenError('the token names no key of this API');
    let claims: TokenClaims;
    try {
      claims = verify(token);
    } catch (error) {
      throw new InvalidTokenError((error as Error).message);
    }
    if (claims.typ !== kind) throw new InvalidTokenError(`expected a ${kind} token`);
    if (!Number.isSafeInteger(claims.sat) || claims.sat < 0) throw new InvalidTokenError('the token has no valid sat');
    return claims;
  }

  #verifierFor(header: string): Verify | undefined {
    const { verifiers, verifierByHeader } = this.#keys;
    const remembered = verifierByHeader.get(header);
    if (remembered) return remembered;
    const kid = headerKeyId(header);
    const verify = kid === undefined ? undefined : verifiers.get(kid);
    if (verify && verifierByHeader.size < REMEMBERED_HEADERS) verifierByHeader.set(header, verify);
    return verify;
  }

  /** The token's claims when it is valid; undefined otherwise. */
  tryVerify(token: string, kind: TokenKind): TokenClaims | undefined {
    try {
      return this.verify(token, kind);
    } catch {
      return undefined;
    }
  }
}
