import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadShape, LoadTarget, Measurement } from './load.ts';
import type { BenchReport } from './report.ts';
import { goalVerdict } from './report.ts';
import type { RoundTarget } from './rounds.ts';
import { combineRounds, measureInRounds, sharesOf } from './rounds.ts';

const round = (requestsPerSecond: number, extra: Partial<Measurement> = {}): Measurement => ({
  requestsPerSecond,
  latencyP50Ms: requestsPerSecond / 1000,
  latencyP99Ms: requestsPerSecond / 100,
  statuses: { '200': requestsPerSecond },
  serverCores: 1,
  serverMicrosPerRequest: 1e6 / requestsPerSecond,
  generatorCores: 0.5,
  machineCores: 1.5,
  problems: [],
  ...extra,
});

describe('combineRounds', () => {
  it('should take the median of each figure, the middle one of an odd count', () => {
    const combined = combineRounds([round(300), round(100), round(200)]);

    assert.equal(combined.requestsPerSecond, 200);
    assert.equal(combined.latencyP99Ms, 2);
  });

  it('should take the mean of the two middle values of an even count', () => {
    assert.equal(combineRounds([round(100), round(400), round(200), round(300)]).requestsPerSecond, 250);
  });

  it("should add up every round's statuses and keep each problem once", () => {
    const combined = combineRounds([
      round(10, { statuses: { '200': 10, '503': 1 }, problems: ['1 of 11 answers were not 2xx'] }),
      round(20, { statuses: { '200': 20 }, problems: ['1 of 11 answers were not 2xx'] }),
    ]);

    assert.deepEqual(combined.statuses, { '200': 30, '503': 1 });
    assert.deepEqual(combined.problems, ['1 of 11 answers were not 2xx']);
  });

  it("should leave the server's CPU unknown when a round could not measure it", () => {
    const combined = combineRounds([
      round(10),
      round(20, { serverCores: undefined, serverMicrosPerRequest: undefined }),
    ]);

    assert.equal(combined.serverCores, undefined);
    assert.equal(combined.serverMicrosPerRequest, undefined);
  });

  it('should take the median of the CPU per answer of each round, not divide one median by another', () => {
    const combined = combineRounds([
      round(100, { serverMicrosPerRequest: 30 }),
      round(200, { serverMicrosPerRequest: 10 }),
      round(300, { serverMicrosPerRequest: 20 }),
    ]);

    assert.equal(combined.serverMicrosPerRequest, 20);
  });

  it('should refuse to combine no round at all', () => {
    assert.throws(() => combineRounds([]), /no round/);
  });
});

describe('sharesOf', () => {
  it('should compare each round with the same round of the yardstick, not the medians', () => {
    // The machine slowed down in round 2 for both: the share stays 50% in every round.
    const shares = sharesOf([round(50), round(10), round(50)], [round(100), round(20), round(100)]);

    assert.deepEqual(shares, { shares: [0.5, 0.5, 0.5], median: 0.5 });
  });

  it('should give no share for targets measured in different rounds', () => {
    assert.equal(sharesOf([round(50)], [round(100), round(100)]), undefined);
    assert.equal(sharesOf([], []), undefined);
  });
});

describe('goalVerdict', () => {
  const report = (bare: Measurement[], chain: Measurement[], failure?: string): BenchReport => ({
    date: new Date(0),
    machine: { cores: 2, cpuModel: 'test', memoryGiB: 1, os: 'test', node: 'v20' },
    shape: { connections: 1, pipelining: 1, durationSeconds: 1, warmupSeconds: 0 },
    rounds: bare.length,
    autocannonVersion: '0',
    outcomes: [
      { what: 'bare', rounds: bare, measurement: combineRounds(bare) },
      { what: 'baseline', rounds: bare, measurement: combineRounds(bare) },
      { what: 'chain', rounds: chain, measurement: combineRounds(chain), ...(failure ? { failure } : {}) },
    ],
  });

  it('should judge the median of the shares round by round and list them', () => {
    const verdict = goalVerdict(report([round(100), round(100), round(100)], [round(70), round(55), round(65)]));

    assert.match(verdict, /: MET, it keeps 65% \(the median of its rounds: 70%, 55%, 65%\)\.$/);
  });

  it('should say NOT MET below the goal', () => {
    assert.match(goalVerdict(report([round(100)], [round(59)])), /: NOT MET, it keeps 59%\.$/);
  });

  it('should not judge when the chain failed', () => {
    assert.match(goalVerdict(report([round(100)], [round(70)], 'no 2xx answer at all')), /not judged/);
  });
});

describe('measureInRounds', () => {
  const SHAPE: LoadShape = { connections: 1, pipelining: 1, durationSeconds: 1, warmupSeconds: 0 };
  const target = (what: string, setUps: string[]): RoundTarget => ({
    what,
    target: async () => {
      setUps.push(what);
      return { url: `http://${what}.invalid/` };
    },
  });
  const hostOf = (load: LoadTarget) => new URL(load.url).hostname.replace('.invalid', '');
  const inRounds = (
    targets: RoundTarget[],
    count: number,
    measureOnce: (load: LoadTarget) => Promise<Measurement>,
    interrupted = () => false,
  ) => measureInRounds(targets, { shape: SHAPE, count, interrupted, progress: () => {}, measureOnce });

  it('should measure the targets in turn, round after round, setting each up once', async () => {
    const setUps: string[] = [];
    const measured: string[] = [];
    const outcomes = await inRounds([target('a', setUps), target('b', setUps)], 3, async (load) => {
      measured.push(hostOf(load));
      return round(measured.length);
    });

    assert.deepEqual(measured, ['a', 'b', 'a', 'b', 'a', 'b']);
    assert.deepEqual(setUps, ['a', 'b']);
    assert.deepEqual(
      outcomes.map(({ what, rounds }) => [what, rounds.map((one) => one.requestsPerSecond)]),
      [
        ['a', [1, 3, 5]],
        ['b', [2, 4, 6]],
      ],
    );
  });

  it('should measure a target no more once a round of it had problems, and go on with the others', async () => {
    const measured: string[] = [];
    const outcomes = await inRounds([target('a', []), target('b', [])], 3, async (load) => {
      measured.push(hostOf(load));
      return round(1, measured.length === 1 ? { problems: ['no 2xx answer at all'] } : {});
    });

    assert.deepEqual(measured, ['a', 'b', 'b', 'b']);
    assert.equal(outcomes[0]?.failure, 'no 2xx answer at all');
    assert.equal(outcomes[1]?.failure, undefined);
  });

  it('should fail a target that cannot be set up, with the reason, and never measure it', async () => {
    const measured: string[] = [];
    const broken: RoundTarget = {
      what: 'broken',
      target: async () => {
        throw new Error('could not start the API: port taken');
      },
    };
    const outcomes = await inRounds([broken, target('b', [])], 2, async (load) => {
      measured.push(hostOf(load));
      return round(1);
    });

    assert.deepEqual(measured, ['b', 'b']);
    assert.deepEqual(outcomes[0], { what: 'broken', rounds: [], failure: 'could not start the API: port taken' });
  });

  it('should stop measuring once interrupted', async () => {
    let calls = 0;
    const measureOnce = async () => {
      calls += 1;
      return round(1);
    };
    const outcomes = await inRounds([target('a', []), target('b', [])], 3, measureOnce, () => calls >= 3);

    assert.equal(calls, 3);
    assert.deepEqual(
      outcomes.map(({ rounds }) => rounds.length),
      [2, 1],
    );
  });
});
