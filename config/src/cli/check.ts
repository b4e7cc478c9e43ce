import { parseArgs } from 'node:util';
import { ConfigError, EXIT_INVALID_CONFIG } from '../config-error.js';
import { isConfigurationFailure, loadSettings } from '../load-settings.js';
import { EXIT_START_FAILED, unexpectedFailure } from '../unexpected-failure.js';

// `npm run config:check [-- --json]`: validates the current environment without starting anything.
// Exit 0 when valid, 1 when not, 2 when the check itself failed (one line on standard error), 64 for unknown
// arguments.

const USAGE = 'usage: npm run config:check [-- --json] [-- --compose]   (exit 0 valid, 1 invalid, 2 check failed)';

let json = false;
try {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  json = values.json === true;
} catch (error) {
  process.stderr.write(`config:check: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(64);
}

try {
  const { settings, secretManager } = await loadSettings();
  secretManager?.stop();
  const report = { valid: true, environment: settings.environment, problems: [] };
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `config:check: valid (${settings.environment})\n`);
} catch (error) {
  if (!isConfigurationFailure(error)) {
    // No verdict, so no report on standard output, even with --json: the exit code tells a machine.
    process.stderr.write(`config:check: FAIL: ${unexpectedFailure('loading the settings', error)}\n`);
    process.exit(EXIT_START_FAILED);
  }
  const fix = 'see docs/infisical-contract.md';
  const problems =
    error instanceof ConfigError
      ? error.problems
      : [{ key: 'secrets.infisical', env: 'INFISICAL_*', message: error.message, fix }];
  const report = { valid: false, problems };
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `config:check: ${error.message}\n`);
  process.exitCode = EXIT_INVALID_CONFIG;
}
