import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('should count a database that cannot be reached, went away or cannot be trusted as unavailable (503: retry)', () => {
    for (const error of [
      withCode('ECONNREFUSED'),
      withCode('ETIMEDOUT'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('08006'),
      withCode('53300', 'too many connections for role "pdpl_app"'),
      withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      withCode('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
    ]) {
      assert.equal(isDatabaseUnavailable(error), true, error.message);
    }
  });

  it('should leave a query the database refused, and anything else, to the 500 path', () => {
    for (const error of [
      withCode('42501', 'permission denied for table users'),
      withCode('23505', 'duplicate key value violates unique constraint'),
      new Error('Cannot read properties of undefined'),
      'not an error',
    ]) {
      assert.equal(isDatabaseUnavailable(error), false, String(error));
    }
  });
});
