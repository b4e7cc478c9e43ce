import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.js';
import type { RevocationList } from './revocations.js';
import type { TokenClaims, TokenKind, TokenService } from './tokens.js';
import { InvalidTokenError } from './tokens.js';

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/.exec(header);
  if (!match) throw new ApiError('AUTH_REQUIRED');
  return match[1] as string;
}

/**
 * Verifies a token and checks it against the revocation list. When Redis cannot answer, the revocation list throws
 * and the request is refused with 503 rather than let through: a revoked token must never work (fail closed;
 * issue #4 documents the policy for every Redis-backed feature).
 */
export async function checkToken(
  tokens: TokenService,
  revocations: RevocationList,
  token: string,
  kind: TokenKind,
): Promise<TokenClaims> {
  let claims: TokenClaims;
  try {
    claims = tokens.verify(token, kind);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new ApiError('AUTH_TOKEN_INVALID');
    throw error;
  }
  if (await revocations.isRevoked(claims.jti)) throw new ApiError('AUTH_TOKEN_REVOKED');
  return claims;
}
