import type { Settings } from './settings.js';
import { SETTINGS } from './settings.js';

/** The one placeholder that stands in for a secret everywhere: config dumps and log lines alike. */
export const REDACTED = '[REDACTED]';

/** A copy of the settings that is safe to print: every sensitive value replaced by the placeholder. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  const copy = structuredClone(settings) as Record<string, unknown>;
  for (const setting of SETTINGS.filter((candidate) => candidate.sensitive)) {
    const path = setting.key.split('.');
    const last = path.pop() as string;
    const parent = path.reduce((node, part) => node[part] as Record<string, unknown>, copy);
    if (parent[last] !== '') parent[last] = REDACTED;
  }
  return copy;
}
