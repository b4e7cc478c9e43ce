import { inspect } from 'node:util';
import type { Settings } from './settings.js';
import { SETTINGS } from './settings.js';

/** The one placeholder that stands in for a secret everywhere: config dumps and log lines alike. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_KEYS = new Set(SETTINGS.filter((setting) => setting.sensitive).map((setting) => setting.key));

/** A plain copy of one part of the settings with every non-empty secret replaced by the placeholder. */
function redactedCopy(node: Record<string, unknown>, prefix: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(node).map(([name, value]) => {
      const key = prefix ? `${prefix}.${name}` : name;
      if (SENSITIVE_KEYS.has(key)) return [name, value === '' ? '' : REDACTED];
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        return [name, redactedCopy(value as Record<string, unknown>, key)];
      }
      return [name, value];
    }),
  );
}

/** A copy of the settings that is safe to print: every sensitive value replaced by the placeholder. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  return redactedCopy(settings as unknown as Record<string, unknown>, '');
}

/**
 * Makes the settings, and each part of them, print redacted however they are printed: JSON.stringify (toJSON),
 * util.inspect and console.log (inspect.custom), and string conversion. Reading a value stays as it is; these
 * methods are not enumerable, so they do not show up as settings.
 */
export function redactWhenPrinted(node: Record<string, unknown>, prefix = ''): void {
  for (const [name, value] of Object.entries(node)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      redactWhenPrinted(value as Record<string, unknown>, prefix ? `${prefix}.${name}` : name);
    }
  }
  const printable = () => redactedCopy(node, prefix);
  Object.defineProperties(node, {
    toJSON: { value: printable },
    toString: { value: () => JSON.stringify(printable()) },
    [inspect.custom]: { value: (_depth: number, options: object) => inspect(printable(), options) },
  });
}
