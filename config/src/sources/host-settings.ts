/**
 * The host settings the secret commands share with the npm scripts and docker-compose.yml (README.md, "Host
 * settings"): where the secret files live and which group may read them. They place files on the host rather than
 * configure a process of the platform, so they are not in the schema; they are read here all the same, so that no
 * command reads the environment itself.
 */
export interface HostSecretsSettings {
  /** PDPL_SECRETS_DIR, when set. */
  readonly dir: string | undefined;
  /** PDPL_SECRETS_GID as written, when set and not empty; the command judges it. */
  readonly gid: string | undefined;
}

export function readHostSecretsSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
): HostSecretsSettings {
  const gid = env.PDPL_SECRETS_GID === '' ? undefined : env.PDPL_SECRETS_GID;
  return { dir: env.PDPL_SECRETS_DIR, gid };
}
