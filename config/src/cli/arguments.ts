import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Flags<T extends Options> = ReturnType<typeof parseArgs<{ options: T; strict: true }>>['values'];

/**
 * The command's flags, or an exit: 64 with the usage on a flag it does not know, 0 with the usage for --help.
 * Every command of this folder takes --help.
 */
export function flagsOrExit<T extends Options>(command: string, usage: string, options: T): Flags<T> {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean' } }, strict: true });
    if ((values as { help?: boolean }).help) {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return values as Flags<T>;
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n${usage}\n`);
    process.exit(64);
  }
}
