import { readFileSync } from 'node:fs';

/** What a `<NAME>_FILE` held: the value, or why there is none. */
export type SecretFileResult = { value: string } | { message: string; fix: string };

/**
 * Reads a secret from a file, as Docker secrets are mounted. Messages never repeat the path: a secret pasted into
 * the variable by mistake would otherwise be printed. The value is taken as secretInContent says.
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
  const read = secretInContent(content);
  return 'value' in read ? read : { message: `the file named by ${fileVar} ${read.problem}`, fix: read.fix };
}

/**
 * A secret file's value as every reader here takes it: one trailing newline (from an editor or `echo`) dropped;
 * an empty value, or white space around it, is refused, since it would silently become part of the secret.
 */
export function secretInContent(content: string): { value: string } | { problem: string; fix: string } {
  const value = content.endsWith('\r\n') ? content.slice(0, -2) : content.replace(/\n$/, '');
  if (value === '') return { problem: 'is empty', fix: 'write the value into it' };
  if (/\s$/.test(value) || /^\s/.test(value)) {
    return { problem: 'has white space around its value', fix: 'remove the blank lines or spaces around the value' };
  }
  return { value };
}
