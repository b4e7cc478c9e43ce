import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import type { TLSSocket } from 'node:tls';
import autocannon from 'autocannon';

// One target under load with autocannon: a warm-up that is not counted, then the measured run. Only 2xx answers
// count as throughput; anything else (another status, a connection error, a certificate that does not verify)
// is a problem the report shows, never a figure.

export const AUTOCANNON_VERSION: string = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('autocannon/package.json'), 'utf8'),
).version;

export interface LoadShape {
  readonly connections: number;
  readonly pipelining: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
}

export interface LoadTarget {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** For an https URL: the CA every connection's certificate must verify against. */
  readonly ca?: Buffer;
  /** CPU seconds the server has used so far, where the bench can ask (its own child processes). */
  readonly serverCpuSeconds?: () => Promise<number>;
}

export interface Measurement {
  /** 2xx answers per second of the measured run. */
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Answers by HTTP status, e.g. { '200': 81234 }. */
  readonly statuses: Record<string, number>;
  /** CPU the server used during the run, in cores; undefined where the bench cannot ask. */
  readonly serverCores: number | undefined;
  /** The server's CPU time per 2xx answer, in µs; undefined where its CPU was not measured. */
  readonly serverMicrosPerRequest: number | undefined;
  /** CPU the load generator (this process) used during the run, in cores. */
  readonly generatorCores: number;
  /** CPU the whole machine used during the run, in cores: more than the sides add up to means other work ran. */
  readonly machineCores: number;
  /** Why the figures cannot be trusted; empty when they can. */
  readonly problems: string[];
}

interface Run {
  readonly result: autocannon.Result;
  readonly unverified: number;
  readonly tlsError: string | undefined;
}

function fire(target: LoadTarget, shape: LoadShape, seconds: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    let unverified = 0;
    let tlsError: string | undefined;
    const options: autocannon.Options = {
      url: target.url,
      headers: target.headers ?? {},
      connections: shape.connections,
      pipelining: shape.pipelining,
      duration: seconds,
    };
    // autocannon connects with rejectUnauthorized: false whatever it is given (a load tester's choice, see
    // mcollina/autocannon#30). Given the CA, Node still verifies each connection, chain and host name, and says
    // so in `authorized`; an answer that came over a connection that failed makes the run fail.
    if (target.ca) options.tlsOptions = { ca: target.ca };
    const instance = autocannon(options, (error, result) => {
      if (error) reject(error);
      else resolve({ result, unverified, tlsError });
    });
    if (target.ca) {
      instance.on('response', (client) => {
        // `conn` is autocannon's socket, not part of its typed API; if it ever goes, every answer fails this check.
        const socket = (client as unknown as { conn?: TLSSocket }).conn;
        if (socket?.authorized === true) return;

        unverified += 1;
        // Node sets authorizationError to a code string, whatever its type declaration says.
        tlsError ??= String(socket?.authorizationError ?? 'no TLS socket');
      });
    }
  });
}

/** CPU time the machine has spent on anything but idling since boot, over all cores, in seconds. */
function machineBusySeconds(): number {
  const busyMs = cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
  return busyMs / 1000;
}

function statusesOf(result: autocannon.Result): Record<string, number> {
  const statuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = count ?? 0;
  return statuses;
}

function problemsOf({ result, unverified, tlsError }: Run): string[] {
  const problems: string[] = [];
  const statuses = Object.entries(statusesOf(result));
  if (result.non2xx > 0) {
    const answers = statuses.reduce((sum, [, count]) => sum + count, 0);
    const counts = statuses.map(([status, count]) => `${status}: ${count}`).join(', ');
    problems.push(`${result.non2xx} of ${answers} answers were not 2xx (${counts})`);
  }
  if (result.errors > 0) problems.push(`${result.errors} connection errors, ${result.timeouts} of them timeouts`);
  if (unverified > 0) problems.push(`${unverified} answers over connections that failed verification: ${tlsError}`);
  if (result['2xx'] === 0) problems.push('no 2xx answer at all');
  return problems;
}

/** Warms the target up, then measures it; throws when the warm-up already shows the target does not work. */
export async function measure(target: LoadTarget, shape: LoadShape): Promise<Measurement> {
  const warmup = await fire(target, shape, shape.warmupSeconds);
  const warmupProblems = problemsOf(warmup);
  if (warmupProblems.length > 0) throw new Error(`during the warm-up: ${warmupProblems.join('; ')}`);

  const serverBefore = await target.serverCpuSeconds?.();
  const generatorBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  const run = await fire(target, shape, shape.durationSeconds);
  const machineSeconds = machineBusySeconds() - machineBefore;
  const generator = process.cpuUsage(generatorBefore);
  const serverAfter = await target.serverCpuSeconds?.();

  const { result } = run;
  const serverSeconds =
    serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore;
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    statuses: statusesOf(result),
    serverCores: serverSeconds === undefined ? undefined : serverSeconds / result.duration,
    serverMicrosPerRequest:
      serverSeconds === undefined || result['2xx'] === 0 ? undefined : (serverSeconds / result['2xx']) * 1e6,
    generatorCores: (generator.user + generator.system) / 1e6 / result.duration,
    machineCores: machineSeconds / result.duration,
    problems: problemsOf(run),
  };
}
