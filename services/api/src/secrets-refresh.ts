import type { LoadOptions } from '@pdpl/config';
import { isConfigurationFailure, loadConfig } from '@pdpl/config';
import type { FastifyInstance } from 'fastify';

/**
 * Secrets the secret manager changed while the API runs: checked by the same rules as at boot, then used at once
 * (new token keys, the passwords of the next connections). Refused values leave the ones in use in place; the log
 * names the settings at fault, never a value.
 */
export function applyRefreshedSecrets(
  app: FastifyInstance,
  secretManagerValues: ReadonlyMap<string, string>,
  options: LoadOptions = {},
): boolean {
  const names = [...secretManagerValues.keys()];
  let next: ReturnType<typeof loadConfig>;
  try {
    next = loadConfig({ ...options, secretManagerValues });
  } catch (error) {
    if (!isConfigurationFailure(error)) throw error;
    app.log.error(
      { secrets: names, problems: error.message },
      'secrets changed in Infisical are refused; kept the ones in use',
    );
    return false;
  }
  app.applySecrets(next);
  app.log.warn({ secrets: names }, 'secrets changed in Infisical; in use from now on');
  return true;
}
