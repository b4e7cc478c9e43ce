import { schema } from './schema.js';

/** The typed shape of the loaded configuration, derived from the schema so the two cannot drift apart. */
type ValueOf<Node> = Node extends { default: infer Default }
  ? Default
  : { readonly [K in keyof Node]: ValueOf<Node[K]> };
export type Settings = ValueOf<typeof schema>;

export interface SettingInfo {
  /** Dotted path, e.g. `database.password`. */
  readonly key: string;
  /** The environment variable that sets it; `<env>_FILE` names a file holding the value instead. */
  readonly env: string;
  readonly sensitive: boolean;
  readonly doc: string;
  /** The schema's default, used when the variable is unset. */
  readonly defaultValue?: unknown;
}

function isLeaf(node: object): node is { env: string; doc: string; sensitive?: boolean; default: unknown } {
  return 'default' in node;
}

function collect(node: object, prefix: string, into: SettingInfo[]): SettingInfo[] {
  for (const [name, child] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (isLeaf(child)) {
      into.push({
        key,
        env: child.env,
        sensitive: child.sensitive === true,
        doc: child.doc,
        defaultValue: child.default,
      });
    } else collect(child, key, into);
  }
  return into;
}

/** Every setting of the schema, in schema order. */
export const SETTINGS: readonly SettingInfo[] = Object.freeze(collect(schema, '', []));

export function settingByKey(key: string): SettingInfo | undefined {
  return SETTINGS.find((setting) => setting.key === key);
}

export function valueAt(settings: Settings, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part], settings);
}
