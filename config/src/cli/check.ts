import { parseArgs } from 'node:util';
import { ConfigError, EXIT_INVALID_CONFIG } from '../config-error.js';
import { loadConfig } from '../load.js';

// `npm run config:check [-- --json]`: validates the current environment without starting anything.
// Exit 0 when valid, 1 when not, 64 for unknown arguments.

let json = false;
try {
  json = parseArgs({ options: { json: { type: 'boolean' } }, strict: true }).values.json === true;
} catch (error) {
  process.stderr.write(`config:check: ${(error as Error).message}\nusage: config:check [--json]\n`);
  process.exit(64);
}

try {
  const settings = loadConfig();
  const report = { valid: true, environment: settings.environment, problems: [] };
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `config:check: valid (${settings.environment})\n`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  const report = { valid: false, problems: error.problems };
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `config:check: ${error.message}\n`);
  process.exitCode = EXIT_INVALID_CONFIG;
}
