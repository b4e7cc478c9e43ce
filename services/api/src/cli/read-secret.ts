import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * Reads one secret line from standard input. On a terminal it prompts and does not echo; from a pipe it reads the
 * first line. Either way the secret never appears in the process list or the shell's history.
 */
export async function readSecretLine(prompt: string): Promise<string> {
  const input = process.stdin;
  const echo = input.isTTY;
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const lines = createInterface({ input, output, terminal: echo });
  try {
    if (echo) {
      process.stderr.write(prompt);
      muted = true;
    }
    const line = await new Promise<string | undefined>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(undefined));
    });
    if (echo) process.stderr.write('\n');
    return line ?? '';
  } finally {
    lines.close();
  }
}
