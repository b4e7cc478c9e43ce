import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SETTINGS, schema } from '../src/index.ts';

// Every setting must say what it is, how it is read and whether it is a secret. SETTINGS (settings.ts) only lists
// nodes that have a default, so this walks the schema itself: a setting that lost its default is caught too.

const SETTING_FIELDS = ['doc', 'format', 'default', 'env'];
// A name that ends in one of these words holds a secret (database.password, jwt.previousSecret, JWT_SECRET...);
// secretPath or SECRETS_PROVIDER merely talk about secrets.
const SECRET_NAME = /(password|secret|key|token|credentials?)$/i;
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

type Node = Record<string, unknown>;

const soundsSecret = (name: string, env: unknown) =>
  SECRET_NAME.test(name) || (typeof env === 'string' && SECRET_NAME.test(env));
const isSetting = (node: Node) => SETTING_FIELDS.some((field) => field in node);

/** Every way the schema's settings fall short, one line each, naming the setting's key. */
function schemaProblems(node: Node, prefix = ''): string[] {
  return Object.entries(node).flatMap(([name, child]) => {
    const key = prefix ? `${prefix}.${name}` : name;
    if (typeof child !== 'object' || child === null) return [`${key} is neither a setting nor a group of settings`];
    const setting = child as Node;
    return isSetting(setting) ? settingProblems(key, name, setting) : schemaProblems(setting, key);
  });
}

function settingProblems(key: string, name: string, setting: Node): string[] {
  const problems: string[] = [];
  if (typeof setting.doc !== 'string' || setting.doc.trim().length < 10) problems.push(`${key} has no description`);
  if (setting.format === undefined || setting.format === null) problems.push(`${key} has no format`);
  if (!('default' in setting)) problems.push(`${key} has no default`);
  const env = setting.env;
  if (typeof env !== 'string' || !ENV_NAME.test(env)) {
    problems.push(`${key} has no environment variable (an upper-case name)`);
  }
  if (soundsSecret(name, env) && setting.sensitive !== true) {
    problems.push(`${key} names a secret but is not marked sensitive`);
  }
  return problems;
}

describe('the configuration schema', () => {
  it('should give every setting a description, a format, a default, its variable, and sensitive if secret', () => {
    assert.deepEqual(schemaProblems(schema), []);
  });

  it('should recognise the secrets it has by their names, so the rule checks something', () => {
    const sensitive = SETTINGS.filter((setting) => setting.sensitive).map((setting) => setting.key);
    const named = SETTINGS.filter((setting) => soundsSecret(setting.key.split('.').at(-1) ?? '', setting.env)).map(
      (setting) => setting.key,
    );

    assert.deepEqual(named, [
      'database.password',
      'redis.password',
      'jwt.secret',
      'jwt.previousSecret',
      'secrets.infisical.clientSecret',
    ]);
    assert.deepEqual(sensitive, named, 'every sensitive setting is named as a secret, and every such name sensitive');
  });

  it('should name each problem of a careless schema, so the two checks above can fail', () => {
    const careless = {
      api: {
        port: { doc: 'TCP port it listens on.', format: 'port', default: 3000, env: 'PORT' },
        token: { doc: 'Token of the upstream service.', format: String, default: '', env: 'UPSTREAM_TOKEN' },
        signingKey: { doc: 'Key that signs webhooks.', format: String, default: '', env: 'WEBHOOK_SIGNING_KEY' },
        secretPath: { doc: 'Folder of the secrets.', format: String, default: '/', env: 'SECRET_PATH' },
        password: { doc: 'The password.', format: String, default: '', env: 'API_PASSWORD', sensitive: 'yes' },
        hidden: { doc: 'Where the bodies are.', format: String, default: '', env: 'ADMIN_SECRET' },
      },
      mode: { format: ['a', 'b'], default: 'a', env: 'MODE' },
      limit: { doc: 'Largest batch to send.', default: 5, env: 'limit' },
      timeout: { doc: 'Seconds to wait for it.', format: 'positive-int', env: 'TIMEOUT' },
      stray: 7,
    };

    assert.deepEqual(schemaProblems(careless), [
      'api.token names a secret but is not marked sensitive',
      'api.signingKey names a secret but is not marked sensitive',
      'api.password names a secret but is not marked sensitive',
      'api.hidden names a secret but is not marked sensitive',
      'mode has no description',
      'limit has no format',
      'limit has no environment variable (an upper-case name)',
      'timeout has no default',
      'stray is neither a setting nor a group of settings',
    ]);
  });
});
