import { randomBytes } from 'node:crypto';
import { ConfigError } from './config-error.js';
import type { LoadOptions } from './load.js';
import { loadConfig, peekSecretManagerSettings } from './load.js';
import { INFISICAL_COORDINATES } from './rules.js';
import type { InfisicalSecretProvider } from './secret-providers/infisical.js';
import { InfisicalError } from './secret-providers/infisical-error.js';
import type { Settings } from './settings.js';
import { SETTINGS } from './settings.js';

export interface LoadedSettings {
  readonly settings: Settings;
  /** The connected secret manager when SECRETS_PROVIDER=infisical, for refreshing while running; else undefined. */
  readonly secretManager: InfisicalSecretProvider | undefined;
  /** Environment variable names of the secrets the secret manager provides. */
  readonly managedSecrets: readonly string[];
}

/**
 * True for the two ways loadSettings reports an unusable configuration, both of which name the setting or secret at
 * fault and never a value: every process prints the message and exits with EXIT_INVALID_CONFIG.
 */
export function isConfigurationFailure(error: unknown): error is ConfigError | InfisicalError {
  return error instanceof ConfigError || error instanceof InfisicalError;
}

/**
 * Loads the settings the way every process of the platform boots: all sources, then the secret manager when one is
 * configured (its values win over every other source; a secret given as a file is never asked of it). Unreachable Infisical, bad credentials or a missing secret
 * stop the boot with an InfisicalError that names the key, never the value.
 */
export async function loadSettings(options: LoadOptions = {}): Promise<LoadedSettings> {
  const secrets = peekSecretManagerSettings(options);
  // Without all its coordinates there is nothing to connect to: loadConfig reports each missing one.
  const incomplete = INFISICAL_COORDINATES.some((name) => secrets.infisical[name] === '');
  if (secrets.provider !== 'infisical' || incomplete) {
    return { settings: loadConfig(options), secretManager: undefined, managedSecrets: [] };
  }

  // Loaded only when used: the SDK pulls in a large dependency tree.
  const { InfisicalSecretProvider } = await import('./secret-providers/infisical.js');
  const env = options.env ?? process.env;
  // Every secret but the one that unlocks Infisical, unless the operator gave it as a secret file.
  const managedSecrets = SETTINGS.filter((setting) => setting.sensitive && !setting.key.startsWith('secrets.'))
    .map((setting) => setting.env)
    .filter((name) => env[`${name}_FILE`] === undefined);

  // Validate everything else before the client secret leaves the process: stand-ins fill the managed secrets.
  const standIns = new Map(managedSecrets.map((name) => [name, randomBytes(48).toString('base64url')]));
  loadConfig({ ...options, secretManagerValues: standIns });

  const provider = await InfisicalSecretProvider.connect(secrets.infisical);
  try {
    const secretManagerValues = await provider.fetchSecrets(managedSecrets);
    return { settings: loadConfig({ ...options, secretManagerValues }), secretManager: provider, managedSecrets };
  } catch (error) {
    provider.stop();
    throw error;
  }
}
