import type { LoadShape, LoadTarget, Measurement } from './load.ts';
import { measure } from './load.ts';

// Targets measured in interleaved rounds (bare, then each API target, then bare again, ...), so that what the
// machine is doing meanwhile (another tenant, a CPU frequency step) weighs on all of them alike; a target measured
// once, minutes after the bare route, could not be compared with it on a shared machine.

export interface RoundTarget {
  readonly what: string;
  /** Called once, before the first round; a target it cannot give fails alone, the others go on. */
  readonly target: () => Promise<LoadTarget>;
}

export interface RoundsOutcome {
  readonly what: string;
  /** One measurement a round, in round order; empty when the target failed before its first. */
  readonly rounds: readonly Measurement[];
  readonly failure?: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  // The middle value, or the mean of the two middle ones.
  const lower = sorted[Math.ceil(sorted.length / 2) - 1] ?? Number.NaN;
  const upper = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return (lower + upper) / 2;
}

/** The measurements of one target's rounds as one: the median of each figure, the statuses and problems of all. */
export function combineRounds(rounds: readonly Measurement[]): Measurement {
  if (rounds.length === 0) throw new Error('combineRounds: no round to combine');

  const statuses: Record<string, number> = {};
  for (const round of rounds) {
    for (const [status, count] of Object.entries(round.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  // Known in every round or not at all: a median of some rounds would stand for rounds it never saw.
  const medianIfKnown = (values: readonly (number | undefined)[]) =>
    values.every((value) => value !== undefined) ? median(values as number[]) : undefined;
  return {
    requestsPerSecond: median(rounds.map((round) => round.requestsPerSecond)),
    latencyP50Ms: median(rounds.map((round) => round.latencyP50Ms)),
    latencyP99Ms: median(rounds.map((round) => round.latencyP99Ms)),
    statuses,
    serverCores: medianIfKnown(rounds.map((round) => round.serverCores)),
    serverMicrosPerRequest: medianIfKnown(rounds.map((round) => round.serverMicrosPerRequest)),
    generatorCores: median(rounds.map((round) => round.generatorCores)),
    machineCores: median(rounds.map((round) => round.machineCores)),
    problems: [...new Set(rounds.flatMap((round) => round.problems))],
  };
}

/**
 * Each round's share of a yardstick, round by round, and their median. Undefined when the counts differ. Equal
 * counts mean the same rounds because measureInRounds measures every live target in every round and a failed
 * target fails the run's verdict anyway.
 */
export function sharesOf(rounds: readonly Measurement[], yardstick: readonly Measurement[]) {
  if (rounds.length === 0 || rounds.length !== yardstick.length) return undefined;

  const shares = rounds.map(
    (round, index) => round.requestsPerSecond / (yardstick[index] as Measurement).requestsPerSecond,
  );
  return { shares, median: median(shares) };
}

export interface RoundsPlan {
  readonly shape: LoadShape;
  readonly count: number;
  /** Asked before every measurement: true stops the rounds where they are. */
  readonly interrupted: () => boolean;
  readonly progress: (message: string) => void;
  /** How one target is measured once; load.ts's measure unless a test gives another. */
  readonly measureOnce?: (target: LoadTarget, shape: LoadShape) => Promise<Measurement>;
}

/**
 * Measures the targets in interleaved rounds. A target that fails (it cannot be set up, or a round has problems)
 * is measured no more; the others go on.
 */
export async function measureInRounds(targets: readonly RoundTarget[], plan: RoundsPlan): Promise<RoundsOutcome[]> {
  const { shape, count, interrupted, progress, measureOnce = measure } = plan;
  const states = targets.map(({ what, target }) => ({
    what,
    target,
    load: undefined as LoadTarget | undefined,
    rounds: [] as Measurement[],
    failure: undefined as string | undefined,
  }));
  for (let round = 1; round <= count && !interrupted(); round += 1) {
    for (const state of states) {
      if (state.failure !== undefined || interrupted()) continue;

      progress(`round ${round} of ${count}: measuring ${state.what}`);
      try {
        state.load ??= await state.target();
        const measurement = await measureOnce(state.load, shape);
        state.rounds.push(measurement);
        if (measurement.problems.length > 0) state.failure = measurement.problems.join('; ');
      } catch (error) {
        state.failure = (error as Error).message;
      }
      if (state.failure !== undefined) progress(`${state.what}: ${state.failure}`);
    }
  }
  return states.map(({ what, rounds, failure }) => ({ what, rounds, ...(failure === undefined ? {} : { failure }) }));
}
