import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Measurement } from './load.ts';
import type { BenchReport } from './report.ts';
import { goalVerdict } from './report.ts';
import { combineRounds, sharesOf } from './rounds.ts';

const round = (requestsPerSecond: number, extra: Partial<Measurement> = {}): Measurement => ({
  requestsPerSecond,
  latencyP50Ms: requestsPerSecond / 1000,
  latencyP99Ms: requestsPerSecond / 100,
  statuses: { '200': requestsPerSecond },
  serverCores: 1,
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
    assert.equal(combineRounds([round(10), round(20, { serverCores: undefined })]).serverCores, undefined);
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
