import type { Settings } from '@pdpl/config';
import { EXIT_INVALID_CONFIG, isConfigurationFailure, loadSettings } from '@pdpl/config';

/** Exit code of a command-line tool whose input (arguments, standard input) is wrong. */
export const EXIT_USAGE = 64;

/** A failure the operator can fix; its message is printed alone, without a stack. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Runs a one-shot command with validated settings: configuration problems exit 1, usage problems 64, anything
 * else 2. Messages go to standard error; none of them carries a secret.
 */
export async function runCli(name: string, main: (settings: Settings) => Promise<void>): Promise<void> {
  try {
    const { settings, secretManager } = await loadSettings();
    // One-shot commands use the secrets they booted with; nothing is refreshed.
    secretManager?.stop();
    await main(settings);
  } catch (error) {
    if (isConfigurationFailure(error)) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exitCode = EXIT_INVALID_CONFIG;
    } else if (error instanceof UsageError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`${name}: FAIL: ${(error as Error).message}\n`);
      process.exitCode = 2;
    }
  }
}
