import { resolve } from 'node:path';
import { readHostSecretsSettings } from '../sources/host-settings.js';

export interface SecretsTarget {
  readonly dir: string;
  readonly gid: number;
}

/**
 * Where the secret commands write, and which group may read what they write: --dir, else $PDPL_SECRETS_DIR, else
 * .secrets; $PDPL_SECRETS_GID, else the platform's group 10001 for root and the caller's own group for anyone else
 * (only root can hand a file to another group). Exits 64 on a group that is not a number.
 */
export function secretsTarget(command: string, dirOption: string | undefined): SecretsTarget {
  const host = readHostSecretsSettings();
  const dir = resolve(dirOption ?? host.dir ?? '.secrets');
  const defaultGid = process.getuid?.() === 0 ? 10_001 : (process.getgid?.() ?? 0);
  const gid = host.gid === undefined ? defaultGid : Number(host.gid);
  if (!Number.isInteger(gid) || gid < 0) {
    process.stderr.write(`${command}: PDPL_SECRETS_GID must be a group id (a whole number)\n`);
    process.exit(64);
  }
  return { dir, gid };
}
