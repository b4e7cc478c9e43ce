import { readFileSync } from 'node:fs';
import convict from 'convict';
import type { Problem } from './config-error.js';
import { ConfigError } from './config-error.js';
import { registerFormats } from './formats.js';
import { checkRules } from './rules.js';
import { schema } from './schema.js';
import type { SettingInfo, Settings } from './settings.js';
import { SETTINGS, settingByKey } from './settings.js';

registerFormats();

export interface LoadOptions {
  /** The environment to read; the process's own when left out. Tests pass their own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

type Source = { value: string } | { problem: Problem } | undefined;

function problemFor(setting: SettingInfo, message: string, fix: string): Problem {
  return { key: setting.key, env: setting.env, message, fix };
}

function readSecretFile(setting: SettingInfo, path: string): Source {
  const fileVar = `${setting.env}_FILE`;
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return { problem: problemFor(setting, `${fileVar} names ${path}, which ${reason}`, 'check the path and mode') };
  }
  // Editors and `echo` add one newline; it is never part of the secret.
  const value = content.endsWith('\r\n') ? content.slice(0, -2) : content.replace(/\n$/, '');
  if (value === '') {
    return { problem: problemFor(setting, `${fileVar} names ${path}, which is empty`, 'write the value into it') };
  }
  if (/\s$/.test(value) || /^\s/.test(value)) {
    const fix = 'remove the blank lines or spaces around the value';
    return { problem: problemFor(setting, `${fileVar} names ${path}, whose value has surrounding white space`, fix) };
  }
  return { value };
}

function resolveSource(setting: SettingInfo, env: LoadOptions['env'] & object): Source {
  const raw = env[setting.env];
  const file = env[`${setting.env}_FILE`];
  if (file !== undefined && !setting.sensitive) {
    const fix = `set ${setting.env} itself; only secrets are read from files`;
    return { problem: problemFor(setting, `is not a secret, but ${setting.env}_FILE is set`, fix) };
  }
  if (raw !== undefined && file !== undefined) {
    const fix = `keep one of ${setting.env} and ${setting.env}_FILE`;
    return { problem: problemFor(setting, 'is set twice, directly and through a file', fix) };
  }
  if (file !== undefined) return readSecretFile(setting, file);
  if (raw === undefined) return undefined;
  if (raw.trim() === '') {
    return {
      problem: problemFor(setting, 'is set but empty', `unset ${setting.env} to use the default, or give a value`),
    };
  }
  return { value: raw };
}

// Convict reports one line per problem as "<key>: <message>[: value was <json>]", and masks sensitive values.
function convictProblems(error: Error): Problem[] {
  return error.message.split('\n').map((line) => {
    const match = /^([\w.]+): (.*)$/.exec(line);
    const setting = match ? settingByKey(match[1] as string) : undefined;
    if (!match || !setting) return { key: '(unknown)', env: '-', message: line, fix: 'remove the setting' };
    return problemFor(setting, match[2] as string, `set ${setting.env} to an accepted value`);
  });
}

function sourceProblems(
  env: Readonly<Record<string, string | undefined>>,
  resolved: Map<SettingInfo, Source>,
  production: boolean,
): Problem[] {
  const problems: Problem[] = [];
  for (const [setting, source] of resolved) {
    if (source && 'problem' in source) problems.push(source.problem);
    // A plain environment variable leaks into `docker inspect`, /proc and crash reports; a file does not.
    if (production && setting.sensitive && env[setting.env] !== undefined) {
      const fix = `put the value in a secret file and set ${setting.env}_FILE to its path`;
      problems.push(problemFor(setting, 'is a secret given as a plain environment variable', fix));
    }
  }
  return problems;
}

/**
 * Reads every setting from its sources (defaults, then environment variables, then `<NAME>_FILE` secret files),
 * validates all of them, applies the production rules, and returns frozen settings. Throws one ConfigError that
 * lists every problem found; no message ever contains a secret value.
 */
export function loadConfig(options: LoadOptions = {}): Settings {
  const env = options.env ?? process.env;
  const resolved = new Map(SETTINGS.map((setting) => [setting, resolveSource(setting, env)] as const));
  const values: Record<string, string> = {};
  for (const [setting, source] of resolved) if (source && 'value' in source) values[setting.env] = source.value;
  const problems = sourceProblems(env, resolved, values.ENVIRONMENT === 'production');

  const config = convict(schema, { env: values, args: [] });
  let wellFormed = true;
  try {
    config.validate({ allowed: 'strict' });
  } catch (error) {
    wellFormed = false;
    problems.push(...convictProblems(error as Error));
  }
  const settings = config.getProperties() as Settings;
  // The rules read typed values, so they run once every value has its type; a setting already reported is not
  // judged again on the default that stood in for it.
  if (wellFormed) {
    const reported = new Set(problems.map((problem) => problem.key));
    problems.push(...checkRules(settings).filter((problem) => !reported.has(problem.key)));
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze(settings);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
