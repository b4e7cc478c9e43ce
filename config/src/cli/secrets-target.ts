import { resolve } from 'node:path';

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
  const dir = resolve(dirOption ?? process.env.PDPL_SECRETS_DIR ?? '.secrets');
  const defaultGid = process.getuid?.() === 0 ? 10_001 : (process.getgid?.() ?? 0);
  const gid = process.env.PDPL_SECRETS_GID ? Number(process.env.PDPL_SECRETS_GID) : defaultGid;
  if (!Number.isInteger(gid) || gid < 0) {
    process.stderr.write(`${command}: PDPL_SECRETS_GID must be a group id (a whole number)\n`);
    process.exit(64);
  }
  return { dir, gid };
}
