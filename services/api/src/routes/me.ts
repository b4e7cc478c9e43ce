import type { FastifyInstance } from 'fastify';
import { bearerToken, checkToken } from '../auth/authenticate.js';
import type { SessionStore } from '../auth/sessions.js';
import type { TokenService } from '../auth/tokens.js';
import type { UserStore } from '../db/users.js';
import { ApiError } from '../http/errors.js';
import { meResponse, sessionResponse } from './schemas.js';

export interface MeRouteDeps {
  readonly users: UserStore;
  readonly tokens: TokenService;
  readonly sessions: SessionStore;
}

/** What callers may read about themselves. */
export async function meRoutes(app: FastifyInstance, { users, tokens, sessions }: MeRouteDeps): Promise<void> {
  app.get('/v1/me', { schema: { response: { 200: meResponse } } }, async (request) => {
    const claims = await checkToken(tokens, sessions, bearerToken(request), 'access');
    const user = await users.profileOf(claims.sub);
    // A valid token for a user that no longer exists is as good as no token.
    if (!user) throw new ApiError('AUTH_TOKEN_INVALID');
    return { id: user.id, email: user.email, createdAt: user.createdAt.toISOString() };
  });

  // The caller's session, from its token alone: when it started, and when this access token must be refreshed.
  app.get('/v1/session', { schema: { response: { 200: sessionResponse } } }, async (request) => {
    const claims = await checkToken(tokens, sessions, bearerToken(request), 'access');
    return {
      userId: claims.sub,
      sessionId: claims.fam,
      startedAt: new Date(claims.sat).toISOString(),
      accessTokenExpiresAt: new Date(claims.exp * 1000).toISOString(),
    };
  });
}
