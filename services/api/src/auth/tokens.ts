import { randomUUID } from 'node:crypto';
import type { Settings } from '@pdpl/config';
import { createSigner, createVerifier } from 'fast-jwt';

export type TokenKind = 'access' | 'refresh';

export interface TokenClaims {
  readonly sub: string;
  readonly jti: string;
  readonly typ: TokenKind;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  readonly expiresIn: number;
}

export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

// HS256 only, fixed here: the algorithm named in a token's header is never trusted (no `none`, no key confusion).
// Issue #4 replaces the single secret with a key ring addressed by key id.
const ALGORITHM = 'HS256';

export class TokenService {
  readonly #sign: Record<TokenKind, (payload: object) => string>;
  readonly #verify: (token: string) => TokenClaims;
  readonly #accessTtl: number;

  constructor(settings: Settings) {
    const { secret, issuer, accessTtlSeconds, refreshTtlSeconds } = settings.jwt;
    const signer = (ttl: number) =>
      createSigner({ key: secret, algorithm: ALGORITHM, iss: issuer, expiresIn: ttl * 1000 });
    this.#sign = { access: signer(accessTtlSeconds), refresh: signer(refreshTtlSeconds) };
    this.#verify = createVerifier({
      key: secret,
      algorithms: [ALGORITHM],
      allowedIss: issuer,
      requiredClaims: ['sub', 'jti', 'typ', 'exp', 'iss'],
      clockTolerance: 5_000,
    }) as (token: string) => TokenClaims;
    this.#accessTtl = accessTtlSeconds;
  }

  issuePair(userId: string): TokenPair {
    return {
      accessToken: this.#sign.access({ sub: userId, jti: randomUUID(), typ: 'access' }),
      refreshToken: this.#sign.refresh({ sub: userId, jti: randomUUID(), typ: 'refresh' }),
      tokenType: 'Bearer',
      expiresIn: this.#accessTtl,
    };
  }

  /** The token's claims when it is valid; undefined otherwise. */
  tryVerify(token: string, kind: TokenKind): TokenClaims | undefined {
    try {
      return this.verify(token, kind);
    } catch {
      return undefined;
    }
  }

  /** The token's claims when it is authentic, unexpired and of the expected kind; otherwise InvalidTokenError. */
  verify(token: string, kind: TokenKind): TokenClaims {
    let claims: TokenClaims;
    try {
      claims = this.#verify(token);
    } catch (error) {
      throw new InvalidTokenError((error as Error).message);
    }
    if (claims.typ !== kind) throw new InvalidTokenError(`expected a ${kind} token`);
    return claims;
  }
}
