import convict from 'convict';

// Convict's built-in coercions are lenient: `port` takes parseInt('3000abc') = 3000 and `Boolean` reads any string
// but 'false' as true. These formats coerce only exact spellings and otherwise keep the raw string, so validation
// reports it instead of silently running with something else.

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function toList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** "*", or an origin exactly as browsers send it: scheme, host and optional port, no path or trailing slash. */
function isOrigin(value: string): boolean {
  if (value === '*') return true;
  try {
    const url = new URL(value);
    // A wildcard inside a host (https://*.example.vn) is no origin any browser sends.
    const exact = !url.hostname.includes('*') && url.origin === value;
    return (url.protocol === 'https:' || url.protocol === 'http:') && exact;
  } catch {
    return false;
  }
}

function toInteger(raw: string): number | string {
  return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
}

export function registerFormats(): void {
  convict.addFormats({
    'non-empty-string': {
      validate(value: unknown) {
        if (typeof value !== 'string' || value.trim() === '') throw new Error('must be a non-empty string');
        if (value.trim() !== value) throw new Error('must not start or end with white space');
      },
    },
    hostname: {
      validate(value: unknown) {
        // A DNS name, an IPv4 address, or an IPv6 address (bare or in brackets); nothing else reaches a resolver.
        if (
          typeof value !== 'string' ||
          !/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/.test(value)
        ) {
          throw new Error('must be a host name or an IP address, without spaces or a port');
        }
      },
    },
    'positive-int': {
      coerce: toInteger,
      validate(value: unknown) {
        if (!Number.isSafeInteger(value) || (value as number) < 1) throw new Error('must be a whole number above 0');
      },
    },
    port: {
      coerce: toInteger,
      validate(value: unknown) {
        if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65_535) {
          throw new Error('must be a whole number from 1 to 65535');
        }
      },
    },
    'string-list': {
      coerce: toList,
      validate(value: unknown) {
        if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
          throw new Error('must be a comma-separated list');
        }
      },
    },
    'origin-list': {
      coerce: toList,
      validate(value: unknown) {
        const bad = Array.isArray(value)
          ? value.filter((item) => typeof item !== 'string' || !isOrigin(item))
          : [value];
        if (bad.length) {
          // An item with an @ may be a URL with a password in it (load.ts withholds convict's echo alike).
          const shown = bad.map((item) => (String(item).includes('@') ? '(an item with an @)' : item));
          throw new Error(
            `must list origins like https://app.example.vn (no path, no trailing slash); not: ${shown.join(', ')}`,
          );
        }
      },
    },
    'url-or-empty': {
      validate(value: unknown) {
        if (value === '') return;
        let url: URL | undefined;
        try {
          url = new URL(String(value));
        } catch {}
        if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new Error('must be an http(s) URL');
      },
    },
    'strict-boolean': {
      coerce(raw: string) {
        const word = raw.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
        return raw;
      },
      validate(value: unknown) {
        if (typeof value !== 'boolean') throw new Error('must be true or false (also accepted: 1/0, yes/no, on/off)');
      },
    },
  });
}
