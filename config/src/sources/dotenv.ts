import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** What the `.env` file held: its variables (none when there is no file), or why it could not be read. */
export type DotenvResult = { values: Record<string, string> } | { message: string; fix: string };

/**
 * Variables from a `.env` file, for development only (the loader never calls this in test or production).
 * Variables already in the real environment win over the file. A file that exists but cannot be read is a problem
 * to report, not a file to skip: the operator meant its settings to apply.
 */
export function readDotenv(path: string): DotenvResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { values: {} };
    // Only the code: a .env is read in development only, where its path is no secret, but its text may be.
    return {
      message: `${path} cannot be read (${code ?? 'unknown error'})`,
      fix: 'make it a file this user may read, or remove it (only development reads it)',
    };
  }
  return { values: parseEnv(text) as Record<string, string> };
}
