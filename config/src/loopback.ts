import { isIPv6 } from 'node:net';

// Every spelling of "this machine" a resolver accepts: names; IPv4 in the forms inet_aton takes (127.1, 0x7f.1,
// 0177.0.0.1, 2130706433); IPv6 in any notation, including IPv4-mapped. Unspecified addresses (0.0.0.0, ::) reach
// the local host too.

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);
const INET_ATON_PART = /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i;

/** The 32-bit address inet_aton reads from the text, or undefined when it is not a numeric IPv4 spelling. */
function inetAton(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length > 4 || !parts.every((part) => INET_ATON_PART.test(part))) return undefined;
  const numbers = parts.map((part) =>
    /^0x/i.test(part) ? Number.parseInt(part, 16) : /^0./.test(part) ? Number.parseInt(part, 8) : Number(part),
  );
  const last = numbers.pop() as number;
  // Leading parts are one byte each; the last fills the remaining bytes (a.b.c.d, a.b.cd, a.bcd, abcd).
  const value = numbers.reduce((sum, byte, index) => sum + byte * 2 ** (24 - 8 * index), 0) + last;
  return value <= 0xffff_ffff ? value : undefined;
}

function isLoopbackIPv4(address: number): boolean {
  return Math.floor(address / 2 ** 24) === 127 || address === 0;
}

function isLoopbackIPv6(host: string): boolean {
  // The URL parser writes IPv6 in one canonical form: ::1, ::, and ::ffff:7f00:1 for a mapped 127.0.0.1.
  const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  if (canonical === '::1' || canonical === '::') return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return false;
  return isLoopbackIPv4(Number.parseInt(mapped[1] as string, 16) * 2 ** 16 + Number.parseInt(mapped[2] as string, 16));
}

/** True when the host names this machine itself, in any spelling. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  if (LOOPBACK_NAMES.has(name) || name.endsWith('.localhost')) return true;
  if (isIPv6(name)) return isLoopbackIPv6(name);
  const address = inetAton(name);
  return address !== undefined && isLoopbackIPv4(address);
}
