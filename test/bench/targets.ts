import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildServer } from './child-server.ts';
import { startChildServer } from './child-server.ts';
import type { Cleanup } from './cleanup.ts';
import type { CpuProfile } from './cpu-profile.ts';
import { hottestFunctions, timeByPackage } from './cpu-profile.ts';
import { startEdgeStack } from './edge-stack.ts';
import type { InProcessApi } from './in-process-api.ts';
import { startInProcessApi } from './in-process-api.ts';
import type { LoadShape, LoadTarget } from './load.ts';
import { measure } from './load.ts';
import type { ChainProfile, TargetOutcome } from './report.ts';
import type { RoundTarget } from './rounds.ts';
import { combineRounds, measureInRounds } from './rounds.ts';

// The five targets: the four in-process ones side by side, in rounds, then the one through nginx. A target that
// cannot be set up or measured is an outcome too, with its reason, so that one broken target never hides the
// figures of the others.

export interface BenchContext {
  readonly shape: LoadShape;
  /** How many interleaved rounds the in-process targets are measured in. */
  readonly rounds: number;
  readonly cleanup: Cleanup;
  /** Also profile the API under target 3's load, in an extra run that is not counted. */
  readonly profile: boolean;
  /** True once the bench was told to stop: start nothing more. */
  readonly interrupted: () => boolean;
}

const BARE_SERVER = new URL('./bare-server.ts', import.meta.url);
const TOP_COUNT = 10;

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** A failure for a table cell: a failed command's message is its command line, then its output; the end matters. */
function oneLine(message: string): string {
  const lines = message.split('\n').filter((line) => line.trim() !== '');
  return (lines.length > 1 ? `${lines[0]} ... ${lines.at(-1)}` : (lines[0] ?? 'no message')).replaceAll('|', '\\|');
}

function failed(what: string, error: unknown): TargetOutcome {
  const { message } = error as Error;
  progress(`${what}: ${message}`);
  return { what, failure: oneLine(message) };
}

async function measureTarget(what: string, shape: LoadShape, target: () => Promise<LoadTarget>) {
  progress(`measuring ${what}`);
  try {
    const measurement = await measure(await target(), shape);
    const failure = measurement.problems.length > 0 ? measurement.problems.join('; ') : undefined;
    return { what, measurement, failure } satisfies TargetOutcome;
  } catch (error) {
    return failed(what, error);
  }
}

const onChild = (server: ChildServer, path: string, headers?: Record<string, string>): LoadTarget => ({
  url: `${server.url}${path}`,
  ...(headers ? { headers } : {}),
  serverCpuSeconds: () => server.cpuSeconds(),
});

async function profileUnderLoad(server: ChildServer, target: LoadTarget, shape: LoadShape): Promise<ChainProfile> {
  progress('profiling the API under GET /v1/session (an extra run, not counted)');
  const path = join(mkdtempSync(join(tmpdir(), 'pdpl-bench-profile-')), 'api-v1-session.cpuprofile');
  await server.startProfile();
  await measure(target, shape);
  await server.stopProfile(path);
  progress(`CPU profile written to ${path}`);
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  return { packages: timeByPackage(profile, TOP_COUNT), functions: hottestFunctions(profile, TOP_COUNT) };
}

interface Started<T> {
  readonly started?: T;
  /** Why it could not start, as thrown: the table escapes it once, where it shows it. */
  readonly failure?: string;
}

/** Starts something a target needs; a failure is logged once and kept for the targets that needed it. */
async function tryStart<T>(what: string, start: () => Promise<T>): Promise<Started<T>> {
  try {
    return { started: await start() };
  } catch (error) {
    const { message } = error as Error;
    progress(`could not start ${what}: ${message}`);
    return { failure: `could not start ${what}: ${message}` };
  }
}

/**
 * Targets 1 to 4, measured in interleaved rounds (see rounds.ts) with both child processes up, and the profile of
 * the security chain (target 3) when asked for.
 */
export async function inProcessTargets({ shape, rounds, cleanup, profile, interrupted }: BenchContext) {
  const bare = 'GET /bare, bare Fastify';
  const live = 'GET /health/live, full API';
  const session = 'GET /v1/session, full API: the security chain';
  const me = 'GET /v1/me, full API: the chain and a PostgreSQL read';
  const bareChild = await tryStart('the bare route', async () => {
    const server = await startChildServer('bare', BARE_SERVER, { PATH: process.env.PATH });
    return { server, stop: cleanup.add('the bare child process', () => server.stop()) };
  });
  // Stopped or not, what started is stopped at the end of the run; nothing more starts.
  if (interrupted()) return { outcomes: [] };
  progress('starting PostgreSQL, Redis and the api child process');
  const apiStart = await tryStart('the API', () => startInProcessApi(cleanup));
  const api = apiStart.started;

  const unavailable = (failure: string | undefined) => async (): Promise<LoadTarget> => {
    throw new Error(failure ?? 'not started');
  };
  let token: string | undefined;
  // Logging in is part of the targets: an API that cannot is a failed target, not a failed run.
  const authenticated = (server: ChildServer, path: string) => async () => {
    token ??= await (api as InProcessApi).logIn();
    return onChild(server, path, { authorization: `Bearer ${token}` });
  };
  const bareServer = bareChild.started?.server;
  const apiServer = api?.server;
  const apiFailure = apiStart.failure;
  const targets: RoundTarget[] = [
    { what: bare, target: bareServer ? async () => onChild(bareServer, '/bare') : unavailable(bareChild.failure) },
    { what: live, target: apiServer ? async () => onChild(apiServer, '/health/live') : unavailable(apiFailure) },
    { what: session, target: apiServer ? authenticated(apiServer, '/v1/session') : unavailable(apiFailure) },
    { what: me, target: apiServer ? authenticated(apiServer, '/v1/me') : unavailable(apiFailure) },
  ];
  const measured = await measureInRounds(targets, { shape, count: rounds, interrupted, progress });
  const outcomes: TargetOutcome[] = measured.map(({ what, rounds: done, failure }) => ({
    what,
    rounds: done,
    ...(done.length > 0 ? { measurement: combineRounds(done) } : {}),
    ...(failure === undefined ? {} : { failure: oneLine(failure) }),
  }));

  let chainProfile: ChainProfile | undefined;
  if (profile && apiServer && token && !interrupted()) {
    try {
      chainProfile = await profileUnderLoad(apiServer, await authenticated(apiServer, '/v1/session')(), shape);
    } catch (error) {
      progress(`profiling failed, the figures stand: ${(error as Error).message}`);
    }
  }
  await bareChild.started?.stop();
  await api?.stop();
  return { outcomes, profile: chainProfile };
}

/** Target 5, measured once: the compose stack cannot share the machine with the API above. */
export async function throughNginx({ shape, cleanup }: BenchContext): Promise<TargetOutcome> {
  let stop: (() => Promise<void>) | undefined;
  const outcome = await measureTarget('GET /v1/me through nginx, TLS', shape, async () => {
    progress('bringing up the compose project pdpl-bench');
    const edge = await startEdgeStack(cleanup);
    stop = edge.stop;
    return { url: `${edge.url}/v1/me`, headers: { authorization: `Bearer ${edge.token}` }, ca: edge.ca };
  });
  await stop?.();
  return outcome;
}
