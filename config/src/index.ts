export type { Problem } from './config-error.js';
export { ConfigError, EXIT_INVALID_CONFIG, formatProblem } from './config-error.js';
export type { LoadOptions } from './load.js';
export { loadConfig } from './load.js';
export { REDACTED, redactSettings } from './redact.js';
export { checkRules, MIN_SECRET_LENGTH } from './rules.js';
export { DEVELOPMENT_JWT_SECRET, schema } from './schema.js';
export type { SettingInfo, Settings } from './settings.js';
export { SETTINGS } from './settings.js';
