import type { Problem } from './config-error.js';
import { SETTINGS } from './settings.js';

// A settings file of VARIABLE=value lines (the compose stack's api.env) is read by Compose, not by this library,
// so a misspelt name would be ignored without a word. This names every line that sets nothing.

const KNOWN = new Set([...SETTINGS.flatMap(({ env }) => [env, `${env}_FILE`]), 'CONFIG_FILE', 'NODE_ENV']);

/** The closest known name, when one is a couple of edits away: the likely intended spelling. */
function closestName(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN) {
    const distance = editDistance(name, known);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The value of a VARIABLE=value line as Compose reads it: trimmed, one pair of surrounding quotes removed. */
function lineValue(line: string): string {
  const value = line.slice(line.indexOf('=') + 1).trim();
  return /^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value;
}

/** Why the compose files make a line pointless, if they do: a secret they give as a file, or another value. */
function overriddenBy(
  overridden: ReadonlyMap<string, string>,
  name: string,
  value: string,
): Pick<Problem, 'message' | 'fix'> | undefined {
  if (overridden.has(`${name}_FILE`)) {
    return {
      message: `is read from the secret file the compose files give as ${name}_FILE, so this line is ignored`,
      fix: 'remove the line; change the secret as README "Secrets" says',
    };
  }
  const composeValue = overridden.get(name);
  if (composeValue === undefined || composeValue === value) return undefined;
  return {
    message: `is set to ${composeValue} by the compose files, which win over this file, so this line is ignored`,
    fix: 'remove the line (README, "Settings of the compose stack")',
  };
}

/**
 * One problem for each line of the file that names no setting (blank lines and # comments aside), or that the
 * compose files make pointless (`overridden`, what they set for the service, which wins over the file): another
 * value for a setting they set, or a secret they give as a file.
 */
export function unknownNames(
  text: string,
  fileName: string,
  overridden: ReadonlyMap<string, string> = new Map(),
): Problem[] {
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const name = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(trimmed)?.[1];
    const where = `${fileName} line ${index + 1}`;
    if (name === undefined) {
      problems.push({ key: where, env: '-', message: 'is not a VARIABLE=value line', fix: 'write it as NAME=value' });
      return;
    }
    const pointless = overriddenBy(overridden, name, lineValue(trimmed));
    if (pointless) {
      problems.push({ key: where, env: name, ...pointless });
    } else if (!KNOWN.has(name)) {
      const guess = closestName(name);
      const fix = guess
        ? `use ${guess}, if that is what was meant`
        : 'see docs/configuration.md for the settings there are';
      problems.push({ key: where, env: name, message: 'is not a setting, so it would be ignored', fix });
    }
  });
  return problems;
}
