import type { Settings } from '@pdpl/config';
import { ConfigError, EXIT_INVALID_CONFIG, loadConfig } from '@pdpl/config';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';

const EXIT_START_FAILED = 2;

function loadSettings(): Settings {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_INVALID_CONFIG);
  }
}

const settings = loadSettings();
try {
  const app = await buildApp(settings);
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an uncaught error');
    else app.log.warn({ signal }, 'shutting down');
    await app.close();
  });
  await app.listen({ host: settings.server.host, port: settings.server.port });
  app.log.warn({ port: settings.server.port, environment: settings.environment }, 'api listening');
} catch (error) {
  process.stderr.write(`api: could not start: ${(error as Error).message}\n`);
  process.exit(EXIT_START_FAILED);
}
