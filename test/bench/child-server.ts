import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { FromChild, ToChild } from './child-protocol.ts';

// The bench's half of a server run in a child process, so that the load generator and the server each have an
// event loop (and, on a machine with two cores or more, a core) of their own.

const START_TIMEOUT_MS = 60_000;
const ANSWER_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  readonly url: string;
  /** CPU time (user + system) the child has used since it started, in seconds. */
  cpuSeconds(): Promise<number>;
  startProfile(): Promise<void>;
  /** Stops profiling and writes the profile (Chrome DevTools .cpuprofile JSON) to the path. */
  stopProfile(path: string): Promise<void>;
  stop(): Promise<void>;
}

function exitDescription(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

/** The next message of a type from the child; rejects when the child exits first or takes too long. */
function nextMessage<T extends FromChild['type']>(child: ChildProcess, name: string, type: T, timeoutMs: number) {
  return new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
    const timer = setTimeout(
      () => settle(new Error(`${name}: no '${type}' from the child in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: FromChild) => {
      if (message.type === type) settle(undefined, message as Extract<FromChild, { type: T }>);
    };
    const onExit = () => settle(new Error(`${name}: the child exited with ${exitDescription(child)} (see above)`));
    function settle(error?: Error, message?: Extract<FromChild, { type: T }>) {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit);
      if (error) reject(error);
      else resolve(message as Extract<FromChild, { type: T }>);
    }
    child.on('message', onMessage).once('exit', onExit);
  });
}

/** Starts a TypeScript server module (one that calls serveToParent) and waits until it listens. */
export async function startChildServer(name: string, module: URL, env: NodeJS.ProcessEnv): Promise<ChildServer> {
  const child = fork(fileURLToPath(module), {
    cwd: REPO_ROOT,
    env,
    execArgv: ['--import', 'tsx'],
    // The child's own output (its log lines, a start-up failure) goes to our stderr; stdout is the report's.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  // A send on a closed channel is reported as an 'error' event, which would otherwise end the bench uncleaned.
  child.on('error', (error) => process.stderr.write(`bench: ${name}: ${error.message}\n`));
  const ask = async <T extends FromChild['type']>(message: ToChild, answer: T) => {
    if (!child.connected) throw new Error(`${name}: the child is gone (exited with ${exitDescription(child)})`);
    const reply = nextMessage(child, name, answer, ANSWER_TIMEOUT_MS);
    child.send(message);
    return reply;
  };

  let port: number;
  try {
    ({ port } = await nextMessage(child, name, 'listening', START_TIMEOUT_MS));
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    async cpuSeconds() {
      const { usage } = await ask({ type: 'cpu-usage' }, 'cpu-usage');
      return (usage.user + usage.system) / 1e6;
    },
    async startProfile() {
      await ask({ type: 'profile-start' }, 'profile-started');
    },
    async stopProfile(path) {
      await ask({ type: 'profile-stop', path }, 'profile-written');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
