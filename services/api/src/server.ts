import type { LoadedSettings } from '@pdpl/config';
import {
  EXIT_INVALID_CONFIG,
  EXIT_START_FAILED,
  isConfigurationFailure,
  loadSettings,
  unexpectedFailure,
} from '@pdpl/config';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { applyRefreshedSecrets } from './secrets-refresh.js';

/** The settings, or an exit: 1 with the one report of every configuration problem, 2 for any other failure. */
async function boot(): Promise<LoadedSettings> {
  try {
    return await loadSettings();
  } catch (error) {
    if (isConfigurationFailure(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_INVALID_CONFIG);
    }
    // Never rethrown: Node would print the message and stack, and exit 1 as if the configuration were at fault.
    process.stderr.write(`api: FAIL: ${unexpectedFailure('loading the settings', error)}\n`);
    process.exit(EXIT_START_FAILED);
  }
}

const { settings, secretManager, managedSecrets } = await boot();
try {
  const app = await buildApp(settings);
  secretManager?.startRefresh(
    managedSecrets,
    // A rotation in Infisical applies without a restart (secret files: npm run jwt:rotate recreates the api).
    (secrets) => applyRefreshedSecrets(app, secrets),
    (error) => app.log.error({ reason: error.reason, message: error.message }, 'refreshing secrets failed'),
  );
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an uncaught error');
    else app.log.warn({ signal }, 'shutting down');
    secretManager?.stop();
    await app.close();
  });
  await app.listen({ host: settings.server.host, port: settings.server.port });
  app.log.warn({ port: settings.server.port, environment: settings.environment }, 'api listening');
} catch (error) {
  process.stderr.write(`api: could not start: ${(error as Error).message}\n`);
  process.exit(EXIT_START_FAILED);
}
