/** One thing wrong with the configuration: which setting, what is wrong with it, and how to put it right. */
export interface Problem {
  readonly key: string;
  readonly env: string;
  readonly message: string;
  readonly fix: string;
}

/** Process exit code for invalid configuration, distinct from every other start-up failure. */
export const EXIT_INVALID_CONFIG = 1;

export function formatProblem(problem: Problem): string {
  return `- ${problem.key} (${problem.env}): ${problem.message}. Fix: ${problem.fix}.`;
}

/** Every problem found in one pass, so an operator fixes them all in one go. Never carries a secret value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`Invalid configuration, ${count}:\n${problems.map(formatProblem).join('\n')}`);
    this.problems = problems;
  }
}
