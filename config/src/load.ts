import { join } from 'node:path';
import convict from 'convict';
import type { Problem } from './config-error.js';
import { ConfigError } from './config-error.js';
import { registerFormats } from './formats.js';
import { redactWhenPrinted } from './redact.js';
import { checkRules } from './rules.js';
import { schema } from './schema.js';
import type { SettingInfo, Settings } from './settings.js';
import { SETTINGS, settingByKey } from './settings.js';
import { blankKeysIn, keysIn, readConfigFile } from './sources/config-file.js';
import { readDotenv } from './sources/dotenv.js';
import { readSecretFile } from './sources/secret-file.js';

registerFormats();

// Sources, each overriding the ones before it:
//   1. the schema's defaults
//   2. the JSON file named by CONFIG_FILE, if any
//   3. environment variables (in development also a `.env` file, which the real environment overrides)
//   4. the secret manager (Infisical), when SECRETS_PROVIDER=infisical (load-settings.ts)
//   5. `<NAME>_FILE`: a file holding the value, as Docker secrets are mounted (secrets only). load-settings.ts never
//      asks the secret manager for a secret given as a file: the data services read the same file (README.md).
// In production a secret may come only from 4 or 5: a plain variable leaks into `docker inspect`, /proc and crash
// reports, and a config file gets copied around.

/** Where a secret was written in plain text. */
export type Origin = 'config-file' | 'environment' | 'dotenv';

export interface LoadOptions {
  /** The environment to read; the process's own when left out. Tests pass their own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The `.env` file read in development; `.env` in the working directory when left out. */
  readonly dotenvPath?: string;
  /** Values from the secret manager, by environment variable name; they win over every source but a secret file. */
  readonly secretManagerValues?: ReadonlyMap<string, string>;
}

interface Gathered {
  readonly values: Record<string, string>;
  /** Secrets written in plain text, and where: production refuses them even where another source wins. */
  readonly exposed: Map<SettingInfo, Origin>;
  readonly fileValues: Record<string, unknown> | undefined;
  readonly problems: Problem[];
}

const CONFIG_FILE_SETTING: SettingInfo = { key: '(config file)', env: 'CONFIG_FILE', sensitive: false, doc: '' };
const DOTENV_SETTING: SettingInfo = { key: '(.env file)', env: '.env', sensitive: false, doc: '' };

function problemFor(setting: SettingInfo, message: string, fix: string): Problem {
  return { key: setting.key, env: setting.env, message, fix };
}

interface SettingSource {
  readonly realEnv: Readonly<Record<string, string | undefined>>;
  readonly dotenv: Record<string, string>;
  readonly managed: ReadonlyMap<string, string> | undefined;
}

/** One setting's value from the environment, .env, its _FILE or the secret manager; or the problem with it. */
function resolveSetting(setting: SettingInfo, { realEnv, dotenv, managed }: SettingSource) {
  const fileVar = `${setting.env}_FILE`;
  // The real environment wins over .env as a whole: a variable or its _FILE there hides both in the file.
  const fromDotenv = realEnv[setting.env] === undefined && realEnv[fileVar] === undefined;
  const source = fromDotenv ? dotenv : realEnv;
  const raw = source[setting.env];
  const file = source[fileVar];
  // A secret written in plain text is exposed wherever it sits, even where another source wins.
  const exposedIn: Origin | undefined =
    setting.sensitive && raw !== undefined ? (fromDotenv ? 'dotenv' : 'environment') : undefined;
  const outcome = (result: { value?: string; problem?: Problem }) => ({ ...result, exposedIn });

  if (file !== undefined && !setting.sensitive) {
    const fix = `set ${setting.env} itself; only secrets are read from files`;
    return outcome({ problem: problemFor(setting, `is not a secret, but ${fileVar} is set`, fix) });
  }
  if (raw !== undefined && file !== undefined) {
    const fix = `keep one of ${setting.env} and ${fileVar}`;
    return outcome({ problem: problemFor(setting, 'is set twice, directly and through a file', fix) });
  }
  if (file !== undefined) {
    const result = readSecretFile(fileVar, file);
    return outcome(
      'value' in result ? { value: result.value } : { problem: problemFor(setting, result.message, result.fix) },
    );
  }
  const fromManager = managed?.get(setting.env);
  if (fromManager !== undefined) return outcome({ value: fromManager });
  if (raw !== undefined && raw.trim() === '') {
    const fix = `unset ${setting.env} to use the default, or give a value`;
    return outcome({ problem: problemFor(setting, 'is set but empty', fix) });
  }
  return outcome({ value: raw });
}

/** The .env file's variables, in development only; it may not set ENVIRONMENT, since it is read because of it. */
function developmentDotenv(environment: string, options: LoadOptions, problems: Problem[]): Record<string, string> {
  if (environment !== 'development') return {};
  const file = readDotenv(options.dotenvPath ?? join(process.cwd(), '.env'));
  if (!('values' in file)) {
    problems.push(problemFor(DOTENV_SETTING, file.message, file.fix));
    return {};
  }
  const dotenv = file.values;
  if (dotenv.ENVIRONMENT !== undefined) {
    const setting = settingByKey('environment') as SettingInfo;
    problems.push(problemFor(setting, 'is set in the .env file', 'set ENVIRONMENT in the real environment instead'));
    delete dotenv.ENVIRONMENT;
  }
  return dotenv;
}

function gather(options: LoadOptions): Gathered {
  const realEnv = options.env ?? process.env;
  const problems: Problem[] = [];
  const values: Record<string, string> = {};
  const exposed = new Map<SettingInfo, Origin>();

  let fileValues: Record<string, unknown> | undefined;
  if (realEnv.CONFIG_FILE !== undefined) {
    const file = readConfigFile(realEnv.CONFIG_FILE);
    if ('values' in file) fileValues = file.values;
    else problems.push(problemFor(CONFIG_FILE_SETTING, file.message, file.fix));
  }
  for (const key of fileValues ? keysIn(fileValues) : []) {
    const setting = settingByKey(key);
    if (setting?.sensitive) exposed.set(setting, 'config-file');
  }
  for (const key of fileValues ? blankKeysIn(fileValues) : []) {
    const fix = 'remove it from the config file to use the default, or give a value';
    problems.push({ key, env: 'CONFIG_FILE', message: 'is set but empty', fix });
  }

  const environment = realEnv.ENVIRONMENT ?? (fileValues?.environment as string | undefined) ?? 'development';
  const dotenv = developmentDotenv(environment, options, problems);
  for (const setting of SETTINGS) {
    const { value, problem, exposedIn } = resolveSetting(setting, {
      realEnv,
      dotenv,
      managed: options.secretManagerValues,
    });
    if (exposedIn) exposed.set(setting, exposedIn);
    if (problem) problems.push(problem);
    else if (value !== undefined) values[setting.env] = value;
  }
  return { values, exposed, fileValues, problems };
}

// Convict reports one line per problem as "<key>: <message>[: value was <json>]", masking sensitive values, and
// "configuration param '<key>' not declared in the schema" for unknown keys. It echoes any other refused value, so
// an echo holding an @ is dropped: a URL carries its user name and password before one (ftp://user:pass@host).
function convictProblems(error: Error): Problem[] {
  return error.message.split('\n').map((echoed) => {
    const line = echoed.replace(/: value was .*@.*$/, '');
    const undeclared =
      /^configuration param '([^']+)' not declared in the schema$/.exec(line) ??
      /^cannot find configuration param '([^']+)'/.exec(line);
    if (undeclared) {
      const fix = 'remove it from the config file, or correct its spelling';
      return { key: undeclared[1] as string, env: 'CONFIG_FILE', message: 'is not a setting', fix };
    }
    const match = /^([\w.]+): (.*)$/.exec(line);
    const setting = match ? settingByKey(match[1] as string) : undefined;
    if (!match || !setting)
      return { key: '(unknown)', env: '-', message: line, fix: 'see the configuration reference' };
    return problemFor(setting, match[2] as string, fixFor(setting));
  });
}

/** What to do about a value the schema refuses: fall back to the safe default where there is one. */
function fixFor({ env, sensitive, defaultValue }: SettingInfo): string {
  const hasDefault = !sensitive && defaultValue !== '' && !(Array.isArray(defaultValue) && defaultValue.length === 0);
  const reference = 'docs/configuration.md describes each setting';
  return hasDefault ? `correct ${env}, or unset it to use its default (${reference})` : `correct ${env} (${reference})`;
}

const RUNTIME_SETTING = (env: string): SettingInfo => ({ key: '(runtime)', env, sensitive: false, doc: '' });

/** Debug switches that live outside the schema but open a production process up: a debugger port, debug logs. */
function runtimeDebugProblems(env: Readonly<Record<string, string | undefined>>): Problem[] {
  const problems: Problem[] = [];
  if (/--(inspect|debug)/.test(env.NODE_OPTIONS ?? '')) {
    const fix = 'remove --inspect from NODE_OPTIONS; a debugger port lets anyone who reaches it run code';
    problems.push(problemFor(RUNTIME_SETTING('NODE_OPTIONS'), 'opens a debugger', fix));
  }
  if ((env.DEBUG ?? '').trim() !== '') {
    const fix = 'unset DEBUG; debug output from libraries may print requests and credentials';
    problems.push(problemFor(RUNTIME_SETTING('DEBUG'), 'turns on debug output', fix));
  }
  return problems;
}

function secretOriginProblems(exposed: Map<SettingInfo, Origin>): Problem[] {
  const problems: Problem[] = [];
  for (const [setting, origin] of exposed) {
    const where = origin === 'config-file' ? 'the config file' : 'a plain environment variable';
    const fix = `put the value in a secret file and set ${setting.env}_FILE to its path, or use the secret manager`;
    problems.push(problemFor(setting, `is a secret given in ${where}`, fix));
  }
  return problems;
}

/**
 * Reads every setting from its sources, validates all of them, applies the rules, and returns frozen settings.
 * Throws one ConfigError listing every problem found; no message ever contains a secret value.
 */
export function loadConfig(options: LoadOptions = {}): Settings {
  const { values, exposed, fileValues, problems } = gather(options);

  // Production's own default: the schema's info would be refused there, with nothing for the operator to fix.
  const production = (values.ENVIRONMENT ?? (fileValues?.environment as string | undefined)) === 'production';
  const fileLevel = (fileValues?.log as Record<string, unknown> | undefined)?.level;
  if (production && values.LOG_LEVEL === undefined && fileLevel === undefined) values.LOG_LEVEL = 'warn';

  const config = convict(schema, { env: values, args: [] });
  let wellFormed = true;
  try {
    // Convict applies the environment again after load(), so the file sits below every variable.
    if (fileValues) config.load(fileValues);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    wellFormed = false;
    problems.push(...convictProblems(error as Error));
  }
  const settings = config.getProperties() as Settings;
  if (settings.environment === 'production') {
    problems.push(...secretOriginProblems(exposed), ...runtimeDebugProblems(options.env ?? process.env));
  }
  // The rules read typed values, so they run once every value has its type; a setting already reported is not
  // judged again on the default that stood in for it.
  if (wellFormed) {
    const reported = new Set(problems.map((problem) => problem.key));
    problems.push(...checkRules(settings).filter((problem) => !reported.has(problem.key)));
  }
  if (problems.length > 0) throw new ConfigError(problems);

  redactWhenPrinted(settings as unknown as Record<string, unknown>);
  return deepFreeze(settings);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}

/**
 * The secret manager's own settings from every other source, not yet validated. They are read first because the
 * secret manager may supply values that validation needs; loadConfig validates everything afterwards.
 */
export function peekSecretManagerSettings(options: LoadOptions = {}): Settings['secrets'] {
  const { values, fileValues } = gather(options);
  const config = convict(schema, { env: values, args: [] });
  if (fileValues) config.load(fileValues);
  return config.get('secrets') as Settings['secrets'];
}
