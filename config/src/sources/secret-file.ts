import { readFileSync } from 'node:fs';

/** What a `<NAME>_FILE` held: the value, or why there is none. */
export type SecretFileResult = { value: string } | { message: string; fix: string };

/**
 * Reads a secret from a file, as Docker secrets are mounted. One trailing newline (from an editor or `echo`) is
 * stripped; anything else around the value is an error, since it would silently become part of the secret.
 */
export function readSecretFile(fileVar: string, path: string): SecretFileResult {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return { message: `${fileVar} names ${path}, which ${reason}`, fix: 'check the path and mode' };
  }
  const value = content.endsWith('\r\n') ? content.slice(0, -2) : content.replace(/\n$/, '');
  if (value === '') return { message: `${fileVar} names ${path}, which is empty`, fix: 'write the value into it' };
  if (/\s$/.test(value) || /^\s/.test(value)) {
    const fix = 'remove the blank lines or spaces around the value';
    return { message: `${fileVar} names ${path}, whose value has surrounding white space`, fix };
  }
  return { value };
}
