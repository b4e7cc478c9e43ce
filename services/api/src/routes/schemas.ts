import { MAX_TOKEN_LENGTH } from '../auth/authenticate.js';
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN } from '../auth/email.js';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.js';

// JSON schemas shared by the routes. Every object is closed (additionalProperties: false): unknown fields are
// rejected, not silently dropped.

export const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', pattern: EMAIL_PATTERN, maxLength: EMAIL_MAX_LENGTH },
    password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
    // Where the refresh token goes: an HttpOnly cookie (browsers; the default) or the body (other clients).
    refreshTransport: { type: 'string', enum: ['cookie', 'body'] },
  },
} as const;

// Without a body, the refresh token comes from the cookie.
export const refreshBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { refreshToken: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_LENGTH } },
} as const;

export const tokenPairResponse = {
  type: 'object',
  required: ['accessToken', 'tokenType', 'expiresIn'],
  properties: {
    accessToken: { type: 'string' },
    tokenType: { type: 'string' },
    expiresIn: { type: 'integer' },
    refreshToken: { type: 'string' },
    refreshExpiresIn: { type: 'integer' },
  },
} as const;

export const meResponse = {
  type: 'object',
  required: ['id', 'email', 'createdAt'],
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const sessionResponse = {
  type: 'object',
  required: ['userId', 'sessionId', 'startedAt', 'accessTokenExpiresAt'],
  properties: {
    userId: { type: 'string' },
    sessionId: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    accessTokenExpiresAt: { type: 'string', format: 'date-time' },
  },
} as const;
