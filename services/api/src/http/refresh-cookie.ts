import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Settings } from '@pdpl/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MAX_TOKEN_LENGTH } from '../auth/authenticate.js';

/** The cookie a browser keeps its refresh token in; scripts cannot read it and it travels to the refresh path only. */
export const REFRESH_COOKIE = 'pdpl_refresh';
export const REFRESH_PATH = '/v1/auth/refresh';

export class RefreshCookie {
  readonly #options: CookieSerializeOptions;

  constructor(settings: Settings) {
    const { secure, sameSite, domain } = settings.cookies;
    this.#options = {
      httpOnly: true,
      secure,
      sameSite,
      path: REFRESH_PATH,
      maxAge: settings.jwt.refreshTtlSeconds,
      ...(domain ? { domain } : {}),
    };
  }

  set(reply: FastifyReply, token: string): void {
    reply.setCookie(REFRESH_COOKIE, token, this.#options);
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(REFRESH_COOKIE, { ...this.#options, maxAge: 0 });
  }

  /** The cookie's token; one longer than any token the API issues is not a token at all. */
  read(request: FastifyRequest): string | undefined {
    const token = request.cookies[REFRESH_COOKIE];
    return token && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
  }
}
