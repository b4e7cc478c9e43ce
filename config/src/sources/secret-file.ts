import { readFileSync } from 'node:fs';

/** What a `<NAME>_FILE` held: the value, or why there is none. */
export type SecretFileResult = { value: string } | { message: string; fix: string };

/**
 * Reads a secret from a file, as Docker secrets are mounted. Messages never repeat the path: a secret pasted into
 * the variable by mistake would otherwise be printed. One trailing newline (from an editor or `echo`) is
 * stripped; anything else around the value is an error, since it would silently become part of the secret.
 */
export function readSecretFile(fileVar: string, path: string): SecretFileResult {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return {
      message: `the file named by ${fileVar} ${reason}`,
      fix: `check the path in ${fileVar} and the file's mode`,
    };
  }
  const value = content.endsWith('\r\n') ? content.slice(0, -2) : content.replace(/\n$/, '');
  if (value === '') return { message: `the file named by ${fileVar} is empty`, fix: 'write the value into it' };
  if (/\s$/.test(value) || /^\s/.test(value)) {
    const fix = 'remove the blank lines or spaces around the value';
    return { message: `the file named by ${fileVar} has white space around its value`, fix };
  }
  return { value };
}
