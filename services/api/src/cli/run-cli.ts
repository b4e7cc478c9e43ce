import type { Settings } from '@pdpl/config';
import {
  EXIT_INVALID_CONFIG,
  EXIT_START_FAILED,
  isConfigurationFailure,
  loadSettings,
  unexpectedFailure,
} from '@pdpl/config';

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
  let settings: Settings;
  try {
    const loaded = await loadSettings();
    settings = loaded.settings;
    // One-shot commands use the secrets they booted with; nothing is refreshed.
    loaded.secretManager?.stop();
  } catch (error) {
    const configuration = isConfigurationFailure(error);
    const line = configuration ? error.message : `FAIL: ${unexpectedFailure('loading the settings', error)}`;
    process.stderr.write(`${name}: ${line}\n`);
    process.exitCode = configuration ? EXIT_INVALID_CONFIG : EXIT_START_FAILED;
    return;
  }

  try {
    await main(settings);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      // The commands' own failures (a refused login, a failed migration) are worded for the operator: one line.
      const [line] = String((error as Error).message).split('\n');
      process.stderr.write(`${name}: FAIL: ${line}\n`);
      process.exitCode = EXIT_START_FAILED;
    }
  }
}
