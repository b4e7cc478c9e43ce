import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { EXIT_INVALID_CONFIG, formatProblem } from '../config-error.js';
import { unknownNames } from '../env-file-names.js';

// `node config/dist/cli/check-env-file.js FILE [JSON]`: refuses a settings file (api.env) with a line that sets
// nothing: no such setting, or one the compose files set themselves to another value (JSON: the service's rendered
// environment without the file, which holds file paths and plain settings, never a secret). Run by
// `npm run config:check -- --compose` (and so by `npm run up`). Exit 0, 1 with the lines named, 64 usage.

const [file, fixedByCompose = '{}'] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node config/dist/cli/check-env-file.js FILE\n');
  process.exit(64);
}
let text: string;
try {
  text = readFileSync(file, 'utf8');
} catch (error) {
  process.stderr.write(`config:check: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
  process.exit(EXIT_INVALID_CONFIG);
}
const fixed = Object.entries(JSON.parse(fixedByCompose) as Record<string, string | null>);
const problems = unknownNames(text, basename(file), new Map(fixed.map(([name, value]) => [name, value ?? ''])));
if (problems.length) {
  process.stderr.write(`config:check: ${file} has ${problems.length} line(s) that set nothing:\n`);
  for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.exitCode = EXIT_INVALID_CONFIG;
}
