import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@pdpl/config';
import { Passwords, passwordProblem } from '../../src/auth/passwords.ts';

const settings = loadConfig({
  env: { ENVIRONMENT: 'test', PASSWORD_MEMORY_COST_KIB: '8192', PASSWORD_TIME_COST: '3', PASSWORD_PARALLELISM: '1' },
});
const passwords = new Passwords(settings);

describe('Passwords', () => {
  it('should hash with argon2id at the configured cost', async () => {
    const hash = await passwords.hash('a password of some length');

    assert.match(hash, /^\$argon2id\$v=19\$m=8192,t=3,p=1\$/);
  });

  it('should accept the right password and refuse a wrong one', async () => {
    const hash = await passwords.hash('the right password');

    assert.equal(await passwords.verify(hash, 'the right password'), true);
    assert.equal(await passwords.verify(hash, 'the wrong password'), false);
  });

  it('should refuse any password for an unknown account, after verifying against the decoy', async () => {
    const decoy = await passwords.prepareDecoy();

    assert.equal(await passwords.verify(undefined, 'anything at all'), false);
    assert.match(decoy, /^\$argon2id\$v=19\$m=8192,t=3,p=1\$/, 'the decoy costs what a real hash costs');
  });
});

describe('passwordProblem', () => {
  it('should accept a long enough, varied password, spaces included', () => {
    assert.equal(passwordProblem('  Spacey-Password-123  '), undefined);
  });

  it('should refuse what login would refuse or what is trivially guessed', () => {
    assert.equal(passwordProblem('short'), 'must be at least 12 characters');
    assert.equal(passwordProblem(`${'x'.repeat(1025)}abcd`), 'must be at most 1024 characters');
    assert.equal(passwordProblem('aaaaaaaaaaaa'), 'must use at least 5 different characters');
  });
});
