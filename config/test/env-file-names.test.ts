import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unknownNames } from '../src/env-file-names.ts';

describe('unknownNames (api.env)', () => {
  it('should accept settings, their _FILE forms, comments and blank lines', () => {
    const text = '# CORS for the web app\nCORS_ALLOWED_ORIGINS=https://app.example.vn\n\nJWT_SECRET_FILE=/run/x\n';

    assert.deepEqual(unknownNames(text, 'api.env'), []);
  });

  it('should name a misspelt setting by line, with the likely intended name', () => {
    const [problem] = unknownNames('RATE_LIMIT_MAX=600\nCORS_ALLOWED_ORIGIN=https://app.example.vn\n', 'api.env');

    assert.equal(problem?.key, 'api.env line 2');
    assert.equal(problem?.env, 'CORS_ALLOWED_ORIGIN');
    assert.equal(problem?.fix, 'use CORS_ALLOWED_ORIGINS, if that is what was meant');
  });

  it('should name a line that is not VARIABLE=value, and a name far from any setting', () => {
    const problems = unknownNames('just some words\nFAVOURITE_COLOUR=blue\n', 'api.env');

    assert.deepEqual(
      problems.map((problem) => `${problem.key} ${problem.env}: ${problem.message}`),
      [
        'api.env line 1 -: is not a VARIABLE=value line',
        'api.env line 2 FAVOURITE_COLOUR: is not a setting, so it would be ignored',
      ],
    );
  });

  it('should name settings the compose files set themselves to another value, or give as a secret file', () => {
    const overridden = new Map([
      ['LOG_LEVEL', 'warn'],
      ['JWT_SECRET_FILE', '/run/secrets/jwt_secret'],
      ['SECRETS_PROVIDER', 'infisical'],
    ]);
    // The same value as the compose files (as README's Infisical steps write it) changes nothing, and is fine.
    const text = 'RATE_LIMIT_MAX=600\nLOG_LEVEL=error\nJWT_SECRET=some-value\nSECRETS_PROVIDER="infisical"\n';

    const problems = unknownNames(text, 'api.env', overridden);

    assert.deepEqual(
      problems.map((problem) => `${problem.key} ${problem.env}: ${problem.fix}`),
      [
        'api.env line 2 LOG_LEVEL: remove the line (README, "Settings of the compose stack")',
        'api.env line 3 JWT_SECRET: remove the line; change the secret as README "Secrets" says',
      ],
    );
    assert.deepEqual(unknownNames(text, 'api.env'), [], 'every name is a setting');
  });
});
