import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.js';
import type { SessionStore } from './sessions.js';
import type { TokenClaims, TokenKind, TokenService } from './tokens.js';
import { InvalidTokenError } from './tokens.js';

/** Longer than any token this API issues (about 400 characters): anything longer is refused before any work. */
export const MAX_TOKEN_LENGTH = 1_024;
// The scheme's name is case-insensitive (RFC 9110, section 11.1); the token is three base64url parts.
const BEARER_SCHEME = /^Bearer +/i;
const TOKEN = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * The token of an `Authorization: Bearer` header. No such header: AUTH_REQUIRED. One whose token cannot be one
 * of ours (malformed, or longer than any token issued): AUTH_TOKEN_INVALID, before any work on it.
 */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  const scheme = BEARER_SCHEME.exec(header);
  if (!scheme) throw new ApiError('AUTH_REQUIRED');
  const token = header.slice(scheme[0].length);
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN.test(token)) throw new ApiError('AUTH_TOKEN_INVALID');
  return token;
}

/** The claims of an authentic token, or AUTH_TOKEN_INVALID; no Redis involved. */
export function verifiedClaims(tokens: TokenService, token: string, kind: TokenKind): TokenClaims {
  try {
    return tokens.verify(token, kind);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new ApiError('AUTH_TOKEN_INVALID');
    throw error;
  }
}

/**
 * Verifies a token and checks that its session has not been ended, by logout or by "log out everywhere". When
 * neither this instance's copy nor Redis can answer, the request is refused with 503 rather than let through: a
 * revoked token must never work (fail closed).
 */
export async function checkToken(
  tokens: TokenService,
  sessions: SessionStore,
  token: string,
  kind: TokenKind,
): Promise<TokenClaims> {
  const claims = verifiedClaims(tokens, token, kind);
  if ((await sessions.stateOf(claims)) === 'revoked') throw new ApiError('AUTH_TOKEN_REVOKED');
  return claims;
}
