// The API's error catalogue: every error a client can receive, with its stable code and HTTP status.
// Clients branch on `code`; `message` is for people. Nothing internal (stack, SQL, driver text) is ever sent.

export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid; see details.' },
  AUTH_REQUIRED: { status: 401, message: 'Send an access token as "Authorization: Bearer <token>".' },
  AUTH_INVALID_CREDENTIALS: { status: 401, message: 'The email or password is incorrect.' },
  AUTH_TOKEN_INVALID: { status: 401, message: 'The token is invalid or has expired.' },
  AUTH_TOKEN_REVOKED: { status: 401, message: 'The token has been revoked; log in again.' },
  AUTH_TOKEN_REUSED: {
    status: 401,
    message: 'This refresh token was already used, so its session has been ended; log in again.',
  },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  // Answered by nginx, whose header buffers fill before the API could see the request.
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the time in Retry-After.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on our side; quote the request id when reporting it.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'A service the API depends on is unavailable; retry shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  readonly field: string;
  readonly problem: string;
}

/** An error meant for the client: it carries a catalogue code and, for validation, which fields are wrong. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly ErrorDetail[] | undefined;

  constructor(code: ErrorCode, details?: readonly ErrorDetail[]) {
    super(ERROR_CATALOGUE[code].message);
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: readonly ErrorDetail[] };
}

export function errorBody(error: ApiError, requestId: string): ErrorBody {
  const message = error.details?.length
    ? `${error.message} ${error.details.map((d) => `${d.field} ${d.problem}`).join('; ')}`
    : error.message;
  const body: ErrorBody = { error: { code: error.code, message, requestId } };
  if (error.details) body.error.details = error.details;
  return body;
}
