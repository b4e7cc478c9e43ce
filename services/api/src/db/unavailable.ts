// Errors that mean PostgreSQL could not be reached, went away (a restart, a network cut, a full pool) or could not
// be trusted, as opposed to a query the database refused. The first kind is worth a retry, so the client gets 503,
// not 500.

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
// The server's certificate did not check out against DATABASE_CA_FILE and DATABASE_HOST (another CA, another name,
// out of date): there is no database the API may trust, which is an outage to the client, not a bug of the API's;
// the log line of the failed request names the certificate problem for the operator (issue #5).
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
// node-postgres reports a dropped connection and a pool that could not connect in time by message only.
const DRIVER_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || CERTIFICATE_CODES.has(code) || code.startsWith('08'))
  ) {
    return true;
  }
  return DRIVER_MESSAGES.test(error.message);
}
