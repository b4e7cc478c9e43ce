import { schema } from './schema.js';
import { SETTINGS } from './settings.js';

// The configuration reference page (docs/configuration.md), written from the schema by `npm run config:docs`.
// A test fails when the committed page differs from what this renders, so the page cannot fall behind.

function schemaNode(key: string): { default: unknown; format: unknown } {
  const node = key.split('.').reduce<unknown>((parent, part) => (parent as Record<string, unknown>)[part], schema);
  return node as { default: unknown; format: unknown };
}

function defaultOf(key: string): string {
  const value = schemaNode(key).default;
  if (Array.isArray(value)) return value.length ? `\`${value.join(',')}\`` : '(none)';
  if (value === '') return '(empty)';
  return `\`${String(value)}\``;
}

function formatOf(key: string): string {
  const format = schemaNode(key).format;
  if (Array.isArray(format)) return format.map((choice) => `\`${choice}\``).join(', ');
  if (format === String) return 'text';
  return String(format);
}

const cell = (text: string) => text.replaceAll('|', '\\|');

export function renderReference(): string {
  const sections = new Map<string, string[]>();
  for (const setting of SETTINGS) {
    const section = setting.key.includes('.') ? (setting.key.split('.')[0] as string) : 'general';
    const secret = setting.sensitive ? ' **Secret**: from a `_FILE` or the secret manager in production.' : '';
    const columns = [
      `\`${setting.env}\``,
      `\`${setting.key}\``,
      cell(formatOf(setting.key)),
      defaultOf(setting.key),
      `${cell(setting.doc)}${secret}`,
    ];
    const row = `| ${columns.join(' | ')} |`;
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  const tables = [...sections].map(
    ([section, rows]) =>
      `## ${section}\n\n| variable | key | format | default | meaning |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
  );
  return [
    '# Configuration reference',
    '',
    'Written by `npm run config:docs` from `config/src/schema.ts`; do not edit by hand.',
    '',
    'Sources, each overriding the ones before: the defaults below; the JSON file named by `CONFIG_FILE`;',
    'environment variables (in development also `.env`); the secret manager (`SECRETS_PROVIDER=infisical`);',
    '`<VARIABLE>_FILE`, a file holding a secret, which the secret manager is then never asked for. In production',
    'a secret may come only from a file or the secret manager. `npm run config:check` validates the current',
    'environment.',
    '',
    ...tables,
  ].join('\n');
}
