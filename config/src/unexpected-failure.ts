/** Process exit code for a start that failed for any reason but invalid configuration: a bug, the install, the host. */
export const EXIT_START_FAILED = 2;

/**
 * One line for a failure that is no configuration problem, e.g. "loading the settings failed with RangeError, …".
 * Built from the error's class, code and system call only: its message may quote a value from the environment, a
 * file or a URL, and any of those may be a secret.
 */
export function unexpectedFailure(what: string, error: unknown): string {
  const withheld = 'its message is withheld: it may quote a secret';
  return `${what} failed with ${kindOf(error)}, which is no configuration problem (${withheld})`;
}

/** As Node prints an error's first words: `RangeError`, `Error [ERR_MODULE_NOT_FOUND]`, `Error [EACCES, open]`. */
function kindOf(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}`;
  const name = /^\w+$/.test(error.name) ? error.name : 'Error';
  const { code, syscall } = error as NodeJS.ErrnoException;
  const details = [code, syscall].filter((part) => typeof part === 'string' && /^[\w-]+$/.test(part));
  return details.length ? `${name} [${details.join(', ')}]` : name;
}
