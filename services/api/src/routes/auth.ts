import cookiePlugin from '@fastify/cookie';
import type { Settings } from '@pdpl/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, checkToken, verifiedClaims } from '../auth/authenticate.js';
import type { LoginAttempts } from '../auth/login-attempts.js';
import type { Passwords } from '../auth/passwords.js';
import type { SessionStore } from '../auth/sessions.js';
import type { TokenPair, TokenService } from '../auth/tokens.js';
import type { UserStore } from '../db/users.js';
import { ApiError } from '../http/errors.js';
import { AccountLimit, accountKey, authAddressLimit, refuseWithRetryAfter } from '../http/rate-limits.js';
import { RefreshCookie } from '../http/refresh-cookie.js';
import { credentialsBody, refreshBody, tokenPairResponse } from './schemas.js';

export interface AuthRouteDeps {
  readonly settings: Settings;
  readonly users: UserStore;
  readonly tokens: TokenService;
  readonly sessions: SessionStore;
  readonly passwords: Passwords;
  readonly attempts: LoginAttempts;
}

type RefreshTransport = 'cookie' | 'body';

interface Credentials {
  email: string;
  password: string;
  refreshTransport?: RefreshTransport;
}

export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { settings, users, tokens, sessions, passwords, attempts } = deps;
  // Only these routes read or set the refresh cookie: registered here, the cookie parser and its hook on every
  // answer run for them alone, not for every request of the API.
  await app.register(cookiePlugin);
  const cookie = new RefreshCookie(settings);
  const { authMax, authWindowSeconds } = settings.rateLimit;
  const perAddress = authAddressLimit(settings);
  // Refreshes per account; a token that does not verify is counted against its sender's address instead.
  const refreshesPerAccount = new AccountLimit(app, authMax, authWindowSeconds, (request) => {
    const claims = tokens.tryVerify(refreshTokenOf(request) ?? '', 'refresh');
    return claims ? accountKey('refresh-account', claims.sub) : `refresh-address:${request.ip}`;
  });

  /** Browsers get the refresh token in an HttpOnly cookie, other clients in the body; never both. */
  const deliver = (reply: FastifyReply, pair: TokenPair, transport: RefreshTransport) => {
    const { accessToken, tokenType, expiresIn, refreshToken, refreshExpiresIn } = pair;
    if (transport === 'body') return { accessToken, tokenType, expiresIn, refreshToken, refreshExpiresIn };
    cookie.set(reply, refreshToken);
    return { accessToken, tokenType, expiresIn };
  };

  const refreshTokenOf = (request: FastifyRequest) =>
    (request.body as { refreshToken?: string } | null | undefined)?.refreshToken ?? cookie.read(request);

  app.post<{ Body: Credentials }>(
    '/v1/auth/login',
    { config: perAddress, schema: { body: credentialsBody, response: { 200: tokenPairResponse } } },
    async (request, reply) => {
      const { email, password } = request.body;
      const attempt = await attempts.begin(email);
      if (!attempt.allowed) refuseWithRetryAfter(reply, attempt.retryAfterSeconds);
      const user = await users.findByEmail(email);
      // Same work and same answer whether the email is unknown or the password is wrong.
      const valid = await passwords.verify(user?.passwordHash, password);
      if (!user || !valid) {
        // A security event worth keeping at production's log level; the email is personal data and stays out.
        request.log.warn({ event: 'login_failed' }, 'login failed');
        throw new ApiError('AUTH_INVALID_CREDENTIALS');
      }
      await attempts.succeeded(email);
      const pair = tokens.issueSession(user.id);
      await sessions.start(pair);
      return deliver(reply, pair, request.body.refreshTransport ?? 'cookie');
    },
  );

  app.post<{ Body: { refreshToken?: string } | null }>(
    '/v1/auth/refresh',
    { config: perAddress, schema: { body: refreshBody, response: { 200: tokenPairResponse } } },
    async (request, reply) => {
      const fromBody = request.body?.refreshToken;
      const token = refreshTokenOf(request);
      if (!token) {
        const detail = { field: 'body.refreshToken', problem: 'is required (or the pdpl_refresh cookie)' };
        throw new ApiError('VALIDATION_FAILED', [detail]);
      }
      await refreshesPerAccount.spend(request, reply);
      const claims = verifiedClaims(tokens, token, 'refresh');
      // A deleted account gets no new tokens, whatever it still holds.
      if (!(await users.exists(claims.sub))) throw new ApiError('AUTH_TOKEN_INVALID');
      const pair = tokens.issuePair({ userId: claims.sub, family: claims.fam, startedAt: claims.sat });
      const outcome = await sessions.rotate(claims, pair);
      if (outcome === 'ended') throw new ApiError('AUTH_TOKEN_REVOKED');
      // Refresh tokens are single-use; a second use means a copy exists, so the whole session has ended.
      if (outcome === 'reused') {
        request.log.warn({ event: 'refresh_token_reused' }, 'refresh token reused; session ended');
        cookie.clear(reply);
        throw new ApiError('AUTH_TOKEN_REUSED');
      }
      return deliver(reply, pair, fromBody ? 'body' : 'cookie');
    },
  );

  // Logout ends this session: its access token, its refresh token and every token refreshed from them.
  app.post('/v1/auth/logout', async (request, reply) => {
    const claims = await checkToken(tokens, sessions, bearerToken(request), 'access');
    await sessions.endSession(claims);
    cookie.clear(reply);
    return reply.status(204).send();
  });

  // Log out everywhere: every session of this user, on every device and every API instance.
  app.post('/v1/auth/logout-all', async (request, reply) => {
    const claims = await checkToken(tokens, sessions, bearerToken(request), 'access');
    await sessions.endAllSessions(claims.sub);
    request.log.warn({ event: 'logout_everywhere' }, 'every session of a user ended');
    cookie.clear(reply);
    return reply.status(204).send();
  });
}
