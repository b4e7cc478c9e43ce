import type { LoadedSettings } from '@pdpl/config';
import { ConfigError, EXIT_INVALID_CONFIG, InfisicalError, loadSettings } from '@pdpl/config';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';

const EXIT_START_FAILED = 2;

async function boot(): Promise<LoadedSettings> {
  try {
    return await loadSettings();
  } catch (error) {
    // Both name the setting or secret at fault and never a value; either way the configuration is unusable.
    if (!(error instanceof ConfigError) && !(error instanceof InfisicalError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_INVALID_CONFIG);
  }
}

const { settings, secretManager, managedSecrets } = await boot();
try {
  const app = await buildApp(settings);
  secretManager?.startRefresh(
    managedSecrets,
    // Issue #4: apply a rotated secret live (key ring, pool password); until then it takes effect at restart.
    () => app.log.warn({ secrets: managedSecrets }, 'secrets changed in Infisical; restart the api to apply them'),
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
