// Where the API keeps session state in Redis, all under auth:, each key expiring when the last token it concerns
// would have expired anyway:
//   auth:session:<fam>        the id of the one refresh token of the session that may still be spent
//   auth:ended:<fam>          a session ended (logout, or a reused refresh token)
//   auth:logout-all:<user>    "log out everywhere": sessions of the user started before this time (ms) are ended
//   auth:login-attempts:<h>   login attempts of an account in the current window (h: a hash of the email)
// Changes to auth:ended and auth:logout-all are also published on CHANNEL, for each instance's copy.

export const CHANNEL = 'auth:revocations';
export const ENDED_PREFIX = 'auth:ended:';
export const LOGOUT_ALL_PREFIX = 'auth:logout-all:';

export const sessionKey = (family: string) => `auth:session:${family}`;
export const endedKey = (family: string) => `${ENDED_PREFIX}${family}`;
export const logoutAllKey = (userId: string) => `${LOGOUT_ALL_PREFIX}${userId}`;

/** What CHANNEL carries, besides heartbeats. */
export type Change =
  | { readonly kind: 'ended'; readonly id: string; readonly expiresAt: number }
  | { readonly kind: 'logout-all'; readonly id: string; readonly before: number; readonly expiresAt: number };
