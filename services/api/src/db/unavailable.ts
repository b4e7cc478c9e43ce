// Errors that mean PostgreSQL could not be reached or went away (a restart, a network cut, a full pool), as opposed
// to a query the database refused. The first kind is worth a retry, so the client gets 503, not 500.

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
// SQLSTATE class 08 (connection exception), the shutdown codes of class 57, the role's connection limit reached,
// and a refused password (between a password rotation in the database and the API's restart that follows it).
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300', '28P01']);
// node-postgres reports a dropped connection and a pool that could not connect in time by message only.
const DRIVER_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08'))) {
    return true;
  }
  return DRIVER_MESSAGES.test(error.message);
}
