import type { FastifyInstance } from 'fastify';
import { bearerToken, checkToken } from '../auth/authenticate.js';
import type { Passwords } from '../auth/passwords.js';
import type { RevocationList } from '../auth/revocations.js';
import type { TokenService } from '../auth/tokens.js';
import type { UserStore } from '../db/users.js';
import { ApiError } from '../http/errors.js';
import { credentialsBody, logoutBody, refreshBody, tokenPairResponse } from './schemas.js';

export interface AuthRouteDeps {
  readonly users: UserStore;
  readonly tokens: TokenService;
  readonly revocations: RevocationList;
  readonly passwords: Passwords;
}

interface Credentials {
  email: string;
  password: string;
}

export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { users, tokens, revocations, passwords } = deps;
  app.post<{ Body: Credentials }>(
    '/v1/auth/login',
    { schema: { body: credentialsBody, response: { 200: tokenPairResponse } } },
    async (request) => {
      const user = await users.findByEmail(request.body.email);
      // Same work and same answer whether the email is unknown or the password is wrong.
      const valid = await passwords.verify(user?.passwordHash, request.body.password);
      if (!user || !valid) {
        // A security event worth keeping at production's log level; the email is personal data and stays out.
        request.log.warn({ event: 'login_failed' }, 'login failed');
        throw new ApiError('AUTH_INVALID_CREDENTIALS');
      }
      return tokens.issuePair(user.id);
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/v1/auth/refresh',
    { schema: { body: refreshBody, response: { 200: tokenPairResponse } } },
    async (request) => {
      const claims = await checkToken(tokens, revocations, request.body.refreshToken, 'refresh');
      // Refresh tokens are single-use: revoking atomically means two racing requests cannot both succeed.
      if (!(await revocations.revoke(claims))) throw new ApiError('AUTH_TOKEN_REVOKED');
      // A deleted account gets no new tokens, whatever it still holds.
      if (!(await users.findById(claims.sub))) throw new ApiError('AUTH_TOKEN_INVALID');
      return tokens.issuePair(claims.sub);
    },
  );

  app.post<{ Body: { refreshToken?: string } | null }>(
    '/v1/auth/logout',
    { schema: { body: logoutBody } },
    async (request, reply) => {
      const access = await checkToken(tokens, revocations, bearerToken(request), 'access');
      // The access token goes first: whatever is wrong with the refresh token, logout must end this session.
      await revocations.revoke(access);
      const refresh = request.body?.refreshToken && tokens.tryVerify(request.body.refreshToken, 'refresh');
      // Only a valid refresh token of the same user is revoked; anything else is already useless or not ours.
      if (refresh && refresh.sub === access.sub) await revocations.revoke(refresh);
      return reply.status(204).send();
    },
  );
}
