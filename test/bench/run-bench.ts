import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cleanup } from './cleanup.ts';
import type { LoadShape } from './load.ts';
import { AUTOCANNON_VERSION } from './load.ts';
import { describeMachine } from './machine.ts';
import type { BenchReport, TargetOutcome } from './report.ts';
import { benchmarksMarkdown, goalVerdict, parameters, profileTables, resultsTable } from './report.ts';
import type { BenchContext } from './targets.ts';
import { inProcessTargets, progress, throughNginx } from './targets.ts';

// npm run bench [-- --profile]: the throughput of the API's security chain against a bare Fastify route, in one run
// (issue #4). Prints the figures and, when every target worked, rewrites BENCHMARKS.md with them.

// Each measurement: a warm-up, then the measured run. The in-process targets take ROUNDS of them each, interleaved.
const SHAPE: LoadShape = { connections: 50, pipelining: 1, durationSeconds: 5, warmupSeconds: 1 };
const ROUNDS = 5;
const BENCHMARKS_MD = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
const EXIT_FAILED = 1;
const EXIT_INTERRUPTED = 130;

// As for the integration tests (scripts/run-tests.mjs): no reaper image without a registry, so every container
// is stopped by its owner; and containers are reached on loopback, also where the host looks like a container.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

const { values: options } = parseArgs({ options: { profile: { type: 'boolean', default: false } } });
// Stopping happens in one place, the end of the run, once nothing is starting any more: a cleanup racing a start
// would leave behind what started after it. A second signal quits at once.
let interrupted = false;
const context: BenchContext = {
  shape: SHAPE,
  rounds: ROUNDS,
  cleanup: new Cleanup(),
  profile: options.profile,
  interrupted: () => interrupted,
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    progress(`${signal}: stopping after the current step (${signal} again quits at once and may leave containers)`);
  });
}

function writeBenchmarks(report: BenchReport): void {
  // Through a temporary file and a rename, so an interrupted write never leaves half a file.
  const temporary = `${BENCHMARKS_MD}.tmp`;
  writeFileSync(temporary, benchmarksMarkdown(report));
  renameSync(temporary, BENCHMARKS_MD);
}

async function main(): Promise<number> {
  const date = new Date();
  // One target under load at a time; the compose stack only once the in-process targets are stopped.
  const inProcess = await inProcessTargets(context);
  const outcomes: TargetOutcome[] = [...inProcess.outcomes];
  if (interrupted) return EXIT_INTERRUPTED;
  outcomes.push(await throughNginx(context));

  const { profile } = inProcess;
  const report: BenchReport = {
    date,
    machine: describeMachine(),
    shape: SHAPE,
    rounds: ROUNDS,
    autocannonVersion: AUTOCANNON_VERSION,
    outcomes,
    ...(profile ? { profile } : {}),
  };
  process.stdout.write(`\n${parameters(report)}\n\n${resultsTable(report)}\n\n${goalVerdict(report)}\n`);
  if (profile) process.stdout.write(`\nWhere the API's CPU went under GET /v1/session:\n\n${profileTables(profile)}\n`);
  if (interrupted) return EXIT_INTERRUPTED;
  if (outcomes.some((outcome) => outcome.failure !== undefined)) {
    progress(`FAIL: a target did not work (see the table); ${BENCHMARKS_MD} left as it was`);
    return EXIT_FAILED;
  }

  writeBenchmarks(report);
  process.stdout.write(`\nWrote ${BENCHMARKS_MD}.\n`);
  return 0;
}

let exitCode = EXIT_FAILED;
try {
  exitCode = await main();
} catch (error) {
  progress(`FAIL: ${(error as Error).stack ?? error}`);
} finally {
  await context.cleanup.runAll();
}
process.exit(exitCode);
