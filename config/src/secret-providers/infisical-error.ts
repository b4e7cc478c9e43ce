/** Why Infisical could not supply the secrets, so a caller can react without parsing the message. */
export type InfisicalErrorReason = 'unreachable' | 'bad-credentials' | 'missing-secret' | 'forbidden' | 'unexpected';

export interface InfisicalErrorDetails {
  /** The HTTP status Infisical answered with, when it answered at all. */
  readonly status?: number;
  /** The secret keys concerned: the missing ones, or those whose values are hidden from the identity. */
  readonly keys?: readonly string[];
}

/**
 * A failure to get secrets from Infisical, worded for the operator: what happened and how to fix it.
 *
 * It is built only from the site URL, ids, key names and status codes, and deliberately has no `cause`: the errors
 * underneath (fetch's, the SDK's) may carry request headers with the access token or a body with the client secret.
 */
export class InfisicalError extends Error {
  override readonly name = 'InfisicalError';
  readonly reason: InfisicalErrorReason;
  readonly status: number | undefined;
  readonly keys: readonly string[];

  constructor(reason: InfisicalErrorReason, message: string, details: InfisicalErrorDetails = {}) {
    super(message);
    this.reason = reason;
    this.status = details.status;
    this.keys = details.keys ?? [];
  }

  /** Without this, JSON.stringify drops the message, the one part an operator needs. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, reason: this.reason, status: this.status, keys: this.keys, message: this.message };
  }
}

/**
 * Why a request got no answer, from the error's name and code only: their free text can quote a URL or a header.
 * Node's fetch rejects with `TypeError('fetch failed')` whose cause has a code such as ECONNREFUSED or ENOTFOUND.
 */
export function describeNetworkFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const code = error instanceof Error ? (error.cause as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? `no connection (${code})` : 'no connection';
}

/**
 * The HTTP status inside an error of @infisical/sdk v5, which keeps it only in its message:
 * `[URL=…] [Method=GET] [StatusCode=403] …` when Infisical sent a message, `Request failed with status 403` if not.
 * `undefined` means the request got no answer (the SDK's message is then fetch's, e.g. `fetch failed`).
 */
export function statusOfSdkError(error: unknown): number | undefined {
  const message = error instanceof Error ? error.message : '';
  const match = /\[StatusCode=(\d{3})\]|^Request failed with status (\d{3})/.exec(message);
  const status = match?.[1] ?? match?.[2];
  return status === undefined ? undefined : Number(status);
}

/** The site URL as it may be printed: never userinfo, a query or a fragment, which could hold credentials. */
export function displayUrl(siteUrl: URL): string {
  return `${siteUrl.origin}${siteUrl.pathname}`.replace(/\/+$/, '');
}
