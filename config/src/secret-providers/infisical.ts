import { createHash } from 'node:crypto';
import { InfisicalSDK, type Secret } from '@infisical/sdk';
import { describeNetworkFailure, displayUrl, InfisicalError, statusOfSdkError } from './infisical-error.js';
import { loginWithUniversalAuth } from './infisical-login.js';

export { InfisicalError, type InfisicalErrorReason } from './infisical-error.js';

export interface InfisicalOptions {
  /** Base URL of Infisical, e.g. https://infisical.example.vn; tests point it at a local server. */
  readonly siteUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly projectId: string;
  /** The environment's slug, e.g. prod. */
  readonly environment: string;
  /** The folder holding the secrets; '/' by default. */
  readonly secretPath?: string;
  readonly refreshIntervalSeconds: number;
  /** The longest one call to Infisical may take before it counts as unreachable; 10 000 ms by default. */
  readonly timeoutMs?: number;
}

/** What storeSecrets did with each key. */
export interface StoreResult {
  readonly created: string[];
  readonly updated: string[];
  /** Keys that exist and were left as they are: the same value, or another one and no overwrite. */
  readonly kept: string[];
  /** Kept keys whose value in Infisical is not the one offered. */
  readonly differing: string[];
}

/** What Infisical shows an identity that may list a secret but not read its value. */
const HIDDEN_VALUE = '<hidden-by-infisical>';

/**
 * Secrets from Infisical for a machine identity with universal auth, fetched at boot and refreshed on a schedule.
 *
 * Token lifetime: @infisical/sdk v5 renews nothing by itself. It offers `universalAuth.renew()`, but that returns
 * only the SDK and drops the new `expiresIn`, so a renewed token's end could not be tracked. This class therefore
 * logs in again, before a request, once the token nears the earlier of `expiresIn` and `accessTokenMaxTTL` from the
 * login answer, and once more if Infisical rejects a token early (revoked, or its use limit reached).
 *
 * No secret value is kept between calls: refreshes are compared by a hash. Everything sensitive is in private
 * fields, which neither JSON.stringify nor util.inspect shows.
 */
export class InfisicalSecretProvider {
  readonly #options: Required<InfisicalOptions>;
  readonly #siteUrl: URL;
  readonly #sdk: InfisicalSDK;
  #loginAgainAt = 0;
  #lastFingerprint: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;

  private constructor(options: InfisicalOptions) {
    this.#options = { secretPath: '/', timeoutMs: 10_000, ...options };
    this.#siteUrl = parseSiteUrl(options.siteUrl);
    checkOptions(this.#options);
    this.#sdk = new InfisicalSDK({ siteUrl: this.#siteUrl.href });
  }

  /** Logs in, so wrong credentials or an unreachable Infisical stop the boot before anything else starts. */
  static async connect(options: InfisicalOptions): Promise<InfisicalSecretProvider> {
    const provider = new InfisicalSecretProvider(options);
    await provider.#login();
    return provider;
  }

  /** The named secrets (Infisical's key is the environment variable's name), or an error naming every missing key. */
  async fetchSecrets(names: readonly string[]): Promise<Map<string, string>> {
    const secrets = await this.#fetch(names);
    this.#lastFingerprint = fingerprint(secrets);
    return secrets;
  }

  /**
   * Fetches the secrets again every `refreshIntervalSeconds` and calls `onUpdate` when a value changed since the last
   * fetch. A failed refresh goes to `onError` and the schedule goes on, so the values in use stay the last good ones.
   */
  startRefresh(
    names: readonly string[],
    onUpdate: (secrets: Map<string, string>) => void,
    onError: (error: InfisicalError) => void,
  ): void {
    if (this.#timer !== undefined) throw new Error('InfisicalSecretProvider is already refreshing; call stop() first');

    const wanted = [...names];
    this.#timer = setInterval(
      () => void this.#refresh(wanted, onUpdate, onError),
      this.#options.refreshIntervalSeconds * 1000,
    );
    // The refresh must never be what keeps a stopping process alive.
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Writes each value under its key (the environment variable's name) in the configured folder: a missing key is
   * created; an existing one is updated with `overwrite`, else kept, and reported as differing when its value is
   * not the one offered. Errors name the key, never a value.
   */
  async storeSecrets(values: ReadonlyMap<string, string>, overwrite: boolean): Promise<StoreResult> {
    if (Date.now() >= this.#loginAgainAt) await this.#login();
    const names = [...values.keys()];
    let listed: Secret[];
    try {
      listed = await this.#withDeadline(this.#listing());
    } catch (error) {
      throw error instanceof InfisicalError ? error : this.#listFailed(error, names);
    }
    const existing = new Map(listed.map((secret) => [secret.secretKey, secret.secretValue]));

    const result: StoreResult = { created: [], updated: [], kept: [], differing: [] };
    const { projectId, environment, secretPath } = this.#options;
    for (const [name, secretValue] of values) {
      const exists = existing.has(name);
      const same = existing.get(name) === secretValue;
      // A value Infisical already holds is never written again, asked to overwrite or not.
      if (exists && (same || !overwrite)) {
        result.kept.push(name);
        if (!same) result.differing.push(name);
        continue;
      }
      const options = { projectId, environment, secretPath, secretValue };
      const secrets = this.#sdk.secrets();
      try {
        await this.#withDeadline(exists ? secrets.updateSecret(name, options) : secrets.createSecret(name, options));
      } catch (error) {
        throw error instanceof InfisicalError ? error : this.#writeFailed(error, name);
      }
      (exists ? result.updated : result.created).push(name);
    }
    return result;
  }

  async #refresh(
    names: readonly string[],
    onUpdate: (secrets: Map<string, string>) => void,
    onError: (error: InfisicalError) => void,
  ): Promise<void> {
    // A slow Infisical must not pile up overlapping fetches: a tick that finds one running is skipped.
    if (this.#refreshing) return;

    this.#refreshing = true;
    let secrets: Map<string, string>;
    try {
      secrets = await this.#fetch(names);
    } catch (error) {
      if (this.#timer !== undefined) onError(asInfisicalError(error));
      return;
    } finally {
      this.#refreshing = false;
    }

    const current = fingerprint(secrets);
    if (this.#timer === undefined || current === this.#lastFingerprint) return;

    this.#lastFingerprint = current;
    try {
      onUpdate(secrets);
    } catch (error) {
      // Only the error's name: its message could quote one of the values just handed over.
      const name = error instanceof Error ? error.name : typeof error;
      onError(new InfisicalError('unexpected', `The handler for refreshed Infisical secrets threw a ${name}.`));
    }
  }

  async #login(): Promise<void> {
    const { clientId, clientSecret, timeoutMs } = this.#options;
    const token = await loginWithUniversalAuth({ siteUrl: this.#siteUrl, clientId, clientSecret, timeoutMs });
    // The SDK keeps the token as its Authorization header; this class does not keep it at all.
    this.#sdk.auth().accessToken(token.accessToken);
    this.#loginAgainAt = token.loginAgainAt;
  }

  async #fetch(names: readonly string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(names)];
    if (Date.now() >= this.#loginAgainAt) await this.#login();

    let listed: Secret[];
    try {
      listed = await this.#list(wanted);
    } catch (error) {
      if (!(error instanceof InfisicalError && error.status === 401)) throw error;
      // A token can be revoked, or use up its use limit, before its lifetime ends: one fresh login, then give up.
      await this.#login();
      listed = await this.#list(wanted);
    }
    return this.#pick(listed, wanted);
  }

  /** One list call for the whole folder, secret imports included, so a boot costs one request whatever the count. */
  async #list(names: readonly string[]): Promise<Secret[]> {
    try {
      return await this.#withDeadline(this.#listing());
    } catch (error) {
      if (error instanceof InfisicalError) throw error;
      throw this.#listFailed(error, names);
    }
  }

  async #listing(): Promise<Secret[]> {
    const { projectId, environment, secretPath } = this.#options;
    const listed = await this.#sdk.secrets().listSecretsWithImports({
      projectId,
      environment,
      secretPath,
      expandSecretReferences: true,
      viewSecretValue: true,
    });
    if (!Array.isArray(listed)) throw this.#unexpectedListAnswer();
    return listed;
  }

  /**
   * The SDK retries a lost connection for about 15 s, 10 s per attempt, and takes no timeout: bound every call here.
   * The abandoned attempt runs on in the background until the SDK gives up; its result is ignored.
   */
  async #withDeadline<T>(call: Promise<T>): Promise<T> {
    const { timeoutMs } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(this.#unreachable(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      return await Promise.race([call, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #writeFailed(error: unknown, name: string): InfisicalError {
    const status = statusOfSdkError(error);
    const { clientId } = this.#options;
    if (status === undefined) return this.#unreachable(describeNetworkFailure(error, this.#options.timeoutMs));
    if (status === 401 || status === 403) {
      return new InfisicalError(
        status === 401 ? 'bad-credentials' : 'forbidden',
        `${this.#where()} does not let client id ${clientId} write ${name} (${status}). Fix: give the machine ` +
          "identity a project role that may create and edit secrets in this environment and path (the API's own " +
          'identity needs only to read them).',
        { status, keys: [name] },
      );
    }
    if (status === 404) return this.#missing([name], 'the project, environment or path does not exist (404)', status);
    if (status === 429 || status >= 500) return this.#unreachable(`it could not serve the request (${status})`, status);
    return new InfisicalError('unexpected', `${this.#where()} answered the write of ${name} with ${status}.`, {
      status,
      keys: [name],
    });
  }

  #pick(listed: readonly Secret[], names: readonly string[]): Map<string, string> {
    const byKey = new Map<string, Secret>();
    for (const secret of listed) {
      if (typeof secret?.secretKey !== 'string') throw this.#unexpectedListAnswer();
      // Imports come after the folder's own secrets and the SDK keeps the first of a key: the folder wins.
      if (!byKey.has(secret.secretKey)) byKey.set(secret.secretKey, secret);
    }

    const missing = names.filter((name) => !byKey.has(name));
    if (missing.length > 0) throw this.#missing(missing, `it has no secret ${missing.join(', ')}`);

    const hidden = names.filter((name) => {
      const secret = byKey.get(name);
      return secret?.secretValueHidden === true || secret?.secretValue === HIDDEN_VALUE;
    });
    if (hidden.length > 0) {
      throw new InfisicalError(
        'forbidden',
        `${this.#where()} lets client id ${this.#options.clientId} list but not read ${hidden.join(', ')}. Fix: ` +
          "give the identity's project role permission to read secret values there.",
        { keys: hidden },
      );
    }

    const secrets = new Map<string, string>();
    for (const name of names) {
      const value = byKey.get(name)?.secretValue;
      if (typeof value !== 'string') throw this.#unexpectedListAnswer();
      secrets.set(name, value);
    }
    return secrets;
  }

  #listFailed(error: unknown, names: readonly string[]): InfisicalError {
    const status = statusOfSdkError(error);
    const { clientId } = this.#options;
    if (status === undefined) {
      // The SDK turns a lost connection into an InfisicalSDKError; anything else is a body it could not read.
      const lostConnection = error instanceof Error && error.name === 'InfisicalSDKError';
      if (!lostConnection) return this.#unexpectedListAnswer();
      return this.#unreachable(describeNetworkFailure(error, this.#options.timeoutMs));
    }
    if (status === 401) {
      return new InfisicalError(
        'bad-credentials',
        `${this.#where()} rejected the access token of client id ${clientId} just after it logged in (401). Fix: ` +
          "check the identity's access-token trusted IPs and use limit, and that it is not being revoked.",
        { status },
      );
    }
    if (status === 403) {
      return new InfisicalError(
        'forbidden',
        `${this.#where()} does not let client id ${clientId} read its secrets (403). Fix: add the machine identity ` +
          'to the project with a role that may read secrets in this environment and path.',
        { status },
      );
    }
    if (status === 404) return this.#missing(names, 'the project, environment or path does not exist (404)', status);
    if (status === 429 || status >= 500) return this.#unreachable(`it could not serve the request (${status})`, status);
    return new InfisicalError(
      'unexpected',
      `${this.#where()} answered the secret list with ${status}. Fix: check INFISICAL_PROJECT_ID, ` +
        'INFISICAL_ENVIRONMENT and INFISICAL_SECRET_PATH.',
      { status },
    );
  }

  #missing(keys: readonly string[], what: string, status?: number): InfisicalError {
    return new InfisicalError(
      'missing-secret',
      `${this.#where()}: ${what}, so ${keys.join(', ')} cannot be read. Fix: create each missing key there (its name ` +
        'is the environment variable name), or correct INFISICAL_PROJECT_ID, INFISICAL_ENVIRONMENT and ' +
        'INFISICAL_SECRET_PATH.',
      { keys, ...(status === undefined ? {} : { status }) },
    );
  }

  #unreachable(what: string, status?: number): InfisicalError {
    return new InfisicalError(
      'unreachable',
      `Infisical at ${displayUrl(this.#siteUrl)} cannot serve secrets: ${what}. Fix: check INFISICAL_SITE_URL and ` +
        'that Infisical runs and is reachable from this host.',
      status === undefined ? {} : { status },
    );
  }

  #unexpectedListAnswer(): InfisicalError {
    return new InfisicalError(
      'unexpected',
      `${this.#where()} answered the secret list without a secrets array of secretKey and secretValue. Fix: check ` +
        'that INFISICAL_SITE_URL points at Infisical itself.',
    );
  }

  #where(): string {
    const { projectId, environment, secretPath } = this.#options;
    const site = displayUrl(this.#siteUrl);
    return `Infisical at ${site} (project ${projectId}, environment ${environment}, path ${secretPath})`;
  }
}

function parseSiteUrl(siteUrl: string): URL {
  let url: URL;
  try {
    url = new URL(siteUrl);
  } catch {
    throw new RangeError('Infisical siteUrl is not a URL; set INFISICAL_SITE_URL to e.g. https://infisical.example.vn');
  }
  // Never echo a URL that holds credentials; fetch refuses them anyway.
  if (url.username !== '' || url.password !== '')
    throw new RangeError('Infisical siteUrl must not contain credentials');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError('Infisical siteUrl must be http(s)');

  // A base path must end with a slash, or the API paths would replace its last segment instead of following it.
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function checkOptions(options: Required<InfisicalOptions>): void {
  for (const name of ['clientId', 'clientSecret', 'projectId', 'environment', 'secretPath'] as const) {
    if (options[name].trim() === '') throw new RangeError(`Infisical option ${name} is empty`);
  }
  for (const name of ['refreshIntervalSeconds', 'timeoutMs'] as const) {
    if (!Number.isFinite(options[name]) || options[name] <= 0)
      throw new RangeError(`Infisical option ${name} must be > 0`);
  }
}

function asInfisicalError(error: unknown): InfisicalError {
  if (error instanceof InfisicalError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new InfisicalError('unexpected', `Fetching secrets from Infisical failed with a ${name}.`);
}

/** A hash of names and values, so a refresh can tell a change without the values being kept in memory. */
function fingerprint(secrets: ReadonlyMap<string, string>): string {
  const entries = [...secrets].sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}
