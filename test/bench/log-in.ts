// Gets the access token the /v1/me targets send, through POST /v1/auth/login as a client does.

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export type PostJson = (path: string, body: unknown) => Promise<Answer>;

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export async function logIn(post: PostJson, email: string, password: string): Promise<string> {
  // The refresh token in the body, not a cookie: the bench keeps no cookie jar and needs the access token only.
  const answer = await post('/v1/auth/login', { email, password, refreshTransport: 'body' });
  const body = parse(answer.body) as { accessToken?: unknown; error?: { code?: string } } | undefined;
  // The catalogue code only, never the body: it could echo what it was sent.
  if (answer.status !== 200) throw new Error(`login answered ${answer.status} (${body?.error?.code ?? 'no code'})`);
  if (typeof body?.accessToken !== 'string') throw new Error('login answered 200 without an accessToken');
  return body.accessToken;
}
