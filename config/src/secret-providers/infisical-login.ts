import { describeNetworkFailure, displayUrl, InfisicalError } from './infisical-error.js';

export interface UniversalAuthLogin {
  readonly siteUrl: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
}

export interface IssuedToken {
  readonly accessToken: string;
  /** When to log in again (ms since the epoch): shortly before the token expires or reaches its maximum lifetime. */
  readonly loginAgainAt: number;
}

/** The path @infisical/sdk v5 posts to; a compatible Infisical must answer it as docs/infisical-contract.md says. */
export const LOGIN_PATH = 'api/v1/auth/universal-auth/login';

/**
 * Logs the machine identity in with universal auth and says when to log in again.
 *
 * This is the SDK's own login request, sent here rather than through `auth().universalAuth.login()` because in
 * @infisical/sdk v5 that method returns only the SDK: it drops `expiresIn` and `accessTokenMaxTTL`, so nobody could
 * tell when the token stops working. It also retries a refused connection four times with backoff (about 15 s) and
 * gives each attempt 10 s, none of it configurable; here one attempt is bounded by `timeoutMs`.
 */
export async function loginWithUniversalAuth(login: UniversalAuthLogin): Promise<IssuedToken> {
  const site = displayUrl(login.siteUrl);
  // Counted from before the request, so the token's lifetime is never overestimated by the time the answer took.
  const issuedAt = Date.now();
  let response: Response;
  try {
    response = await fetch(new URL(LOGIN_PATH, login.siteUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ clientId: login.clientId, clientSecret: login.clientSecret }),
      signal: AbortSignal.timeout(login.timeoutMs),
    });
  } catch (error) {
    throw new InfisicalError(
      'unreachable',
      `Infisical at ${site} cannot be reached: ${describeNetworkFailure(error, login.timeoutMs)}. Fix: check ` +
        'INFISICAL_SITE_URL, that Infisical runs and that this host can reach it (for HTTPS with a private CA, ' +
        'trust it with NODE_EXTRA_CA_CERTS).',
    );
  }

  // The body is read either way so the connection is released; its text is never put into an error.
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw loginRefused(response.status, site, login.clientId);

  const answer = parseLoginAnswer(body);
  if (answer === undefined) {
    throw new InfisicalError(
      'unexpected',
      `Infisical at ${site} answered the universal-auth login without a usable accessToken, expiresIn and ` +
        'accessTokenMaxTTL. Fix: check that INFISICAL_SITE_URL points at Infisical itself, not at a proxy page.',
      { status: response.status },
    );
  }
  return { accessToken: answer.accessToken, loginAgainAt: issuedAt + usableLifetimeMs(answer) };
}

interface LoginAnswer {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly accessTokenMaxTTL: number;
}

function parseLoginAnswer(body: unknown): LoginAnswer | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { accessToken, expiresIn, accessTokenMaxTTL, tokenType } = body as Record<string, unknown>;
  const isSeconds = (value: unknown): value is number => typeof value === 'number' && value >= 0;
  if (typeof accessToken !== 'string' || accessToken === '' || !isSeconds(expiresIn)) return undefined;
  if (tokenType !== undefined && tokenType !== 'Bearer') return undefined;
  // Infisical has always sent accessTokenMaxTTL with universal auth; absent, it means what 0 means: no limit.
  if (accessTokenMaxTTL !== undefined && !isSeconds(accessTokenMaxTTL)) return undefined;
  return { accessToken, expiresIn, accessTokenMaxTTL: accessTokenMaxTTL ?? 0 };
}

/**
 * How long the token may be used: the earlier of its expiry and its maximum lifetime (0 means no limit in Infisical),
 * less a tenth, at most a minute, so a request sent just before the end does not arrive after it.
 */
function usableLifetimeMs(answer: LoginAnswer): number {
  const limits = [answer.expiresIn, answer.accessTokenMaxTTL].filter((seconds) => seconds > 0);
  if (limits.length === 0) return Number.POSITIVE_INFINITY;

  const lifetimeMs = Math.min(...limits) * 1000;
  return lifetimeMs - Math.min(60_000, lifetimeMs / 10);
}

function loginRefused(status: number, site: string, clientId: string): InfisicalError {
  if (status === 400 || status === 401 || status === 422) {
    return new InfisicalError(
      'bad-credentials',
      `Infisical at ${site} refused the universal-auth login of client id ${clientId} (${status}): the client id or ` +
        'secret is wrong, or the secret expired, was revoked or used up, or the identity is locked out after ' +
        'failed logins. Fix: create a client secret for the identity and set INFISICAL_CLIENT_ID and ' +
        'INFISICAL_CLIENT_SECRET_FILE to it.',
      { status },
    );
  }
  if (status === 403) {
    return new InfisicalError(
      'forbidden',
      `Infisical at ${site} refused the login of client id ${clientId} from this host (403). Fix: add this host's ` +
        "address to the trusted IPs of the identity's universal auth.",
      { status },
    );
  }
  if (status === 429 || status >= 500) {
    return new InfisicalError(
      'unreachable',
      `Infisical at ${site} could not serve the login (${status}). Fix: check that Infisical is healthy, then restart.`,
      { status },
    );
  }
  return new InfisicalError(
    'unexpected',
    `Infisical at ${site} answered the universal-auth login with ${status}. Fix: check that INFISICAL_SITE_URL is ` +
      'the base URL of Infisical (without /api).',
    { status },
  );
}
