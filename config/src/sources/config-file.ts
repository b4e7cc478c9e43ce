import { readFileSync } from 'node:fs';

export type ConfigFileResult = { values: Record<string, unknown> } | { message: string; fix: string };

/** Reads the optional JSON config file named by CONFIG_FILE: an object shaped like the schema. */
export function readConfigFile(path: string): ConfigFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return { message: `names ${path}, which ${reason}`, fix: 'check the path and mode, or unset CONFIG_FILE' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text around the fault, which may be a secret: keep only where it is.
    const where = /position \d+/.exec((error as Error).message)?.[0] ?? 'somewhere';
    return { message: `names ${path}, which is not valid JSON (at ${where})`, fix: 'correct the file' };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { message: `names ${path}, which does not hold a JSON object`, fix: 'shape it like the schema' };
  }
  // Convict would silently ignore {"server.port": 4000}; nesting is the only spelling it reads.
  const dotted = dottedNames(parsed as Record<string, unknown>);
  if (dotted.length) {
    const fix = 'nest them as objects, e.g. {"server": {"port": 4000}}';
    return { message: `names ${path}, which uses dotted keys: ${dotted.join(', ')}`, fix };
  }
  return { values: parsed as Record<string, unknown> };
}

function dottedNames(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([name, value]) => {
    const nested = value && typeof value === 'object' && !Array.isArray(value);
    const inner = nested ? dottedNames(value as Record<string, unknown>) : [];
    return name.includes('.') ? [name, ...inner] : inner;
  });
}

/** Dotted keys of every leaf the file sets, e.g. `database.password`. */
export function keysIn(values: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(values).flatMap(([name, value]) => {
    const key = prefix ? `${prefix}.${name}` : name;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? keysIn(value as Record<string, unknown>, key)
      : [key];
  });
}

/** Dotted keys of the leaves the file sets to an empty or blank string: never a silent empty value, as in a variable. */
export function blankKeysIn(values: Record<string, unknown>): string[] {
  return keysIn(values).filter((key) => {
    const value = key.split('.').reduce<unknown>((node, name) => (node as Record<string, unknown>)[name], values);
    return typeof value === 'string' && value.trim() === '';
  });
}
