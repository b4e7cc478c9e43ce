import { cpus, release, totalmem, type } from 'node:os';
import type { Machine } from './report.ts';

/** What the figures were measured on: absolute numbers only mean something next to it. */
export function describeMachine(): Machine {
  const cores = cpus();
  return {
    cores: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
  };
}
