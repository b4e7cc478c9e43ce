import { isIPv4, isIPv6 } from 'node:net';

// Every spelling of "this machine" a resolver accepts: names, IPv4 in the short forms inet_aton takes (127.1),
// IPv6, and IPv4-mapped IPv6. Unspecified addresses (0.0.0.0, ::) reach the local host too.

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

function ipv4FirstByte(host: string): number | undefined {
  if (!/^\d+(\.\d+){0,3}$/.test(host)) return undefined;
  const parts = host.split('.').map(Number);
  // inet_aton: a single number is the whole address, so its top byte is the first octet.
  return parts.length === 1 ? Math.floor((parts[0] as number) / 2 ** 24) : parts[0];
}

function isLoopbackIPv4(host: string): boolean {
  const first = ipv4FirstByte(host);
  if (first === undefined) return false;
  return first === 127 || host.split('.').every((part) => Number(part) === 0);
}

function isLoopbackIPv6(host: string): boolean {
  if (!isIPv6(host)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return isLoopbackIPv4(mapped[1] as string);
  const groups = host.split('::');
  const expanded = groups.length === 2 ? `${groups[0]}:${groups[1]}` : host;
  const bits = expanded
    .split(':')
    .filter(Boolean)
    .map((group) => Number.parseInt(group, 16));
  const allZeroButLast = bits.slice(0, -1).every((group) => group === 0);
  return bits.length === 0 || (allZeroButLast && (bits.at(-1) === 1 || bits.at(-1) === 0));
}

/** True when the host names this machine itself, in any spelling. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  if (LOOPBACK_NAMES.has(name) || name.endsWith('.localhost')) return true;
  if (isIPv4(name) || ipv4FirstByte(name) !== undefined) return isLoopbackIPv4(name);
  return isLoopbackIPv6(name);
}
