import { randomBytes } from 'node:crypto';
import { caOf, e2eStack, https, removeStack, startFresh } from '../e2e/compose-stack.ts';
import type { Cleanup } from './cleanup.ts';
import { UNREFUSING_RATE_LIMITS } from './in-process-api.ts';
import { logIn } from './log-in.ts';

// Target 4: the compose stack as an operator runs it, reached through nginx over TLS. It runs as a project of its
// own (containers, volumes, ports, network) so it never touches a stack started with `npm run up`.

const EMAIL = 'bench@example.com';
const HTTPS_PORT = 28443;

export interface EdgeStack {
  readonly url: string;
  /** The local CA that signed nginx's certificate. */
  readonly ca: Buffer;
  readonly token: string;
  stop(): Promise<void>;
}

export async function startEdgeStack(cleanup: Cleanup): Promise<EdgeStack> {
  const stack = e2eStack('pdpl-bench', 28080, HTTPS_PORT, {
    // A range of its own, so it can be up beside any other stack (the operator's, test/e2e's, test/security's).
    subnet: '172.30.83.0/24',
    apiSettings: { RATE_LIMIT_MAX: UNREFUSING_RATE_LIMITS.max, RATE_LIMIT_AUTH_MAX: UNREFUSING_RATE_LIMITS.authMax },
  });
  // Registered first: a start that fails half-way leaves containers and volumes to remove.
  const stop = cleanup.add(`the compose project ${stack.project}`, () => removeStack(stack));
  const password = randomBytes(18).toString('base64url');
  await startFresh(stack, [EMAIL], password);

  const post = (path: string, body: unknown) => https(stack, 'POST', path, { body });
  return {
    url: `https://localhost:${HTTPS_PORT}`,
    // The CA the login above was verified against.
    ca: caOf(stack),
    // Over a connection verified against the CA, before any load: the token only ever goes to our own nginx.
    token: await logIn(post, EMAIL, password),
    stop,
  };
}
