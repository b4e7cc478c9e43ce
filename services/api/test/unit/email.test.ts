import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEmail } from '../../src/auth/email.ts';

describe('isEmail', () => {
  for (const address of [
    'ops@example.com',
    'first.last+tag@sub.example.vn',
    'ops@xn--v-dua.vn',
    "o'neil@example.com",
  ]) {
    it(`should accept ${address}`, () => {
      assert.equal(isEmail(address), true);
    });
  }

  for (const address of [
    'nobody',
    'ops@localhost',
    'nguyễn@example.vn',
    'ops@ví-dụ.vn',
    'ops@exa_mple.com',
    'ops@example.com.',
    ' ops@example.com',
    'a..b@example.com',
  ]) {
    it(`should refuse ${JSON.stringify(address)}`, () => {
      assert.equal(isEmail(address), false);
    });
  }

  it('should refuse an address longer than 254 characters', () => {
    assert.equal(isEmail(`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.vn`), false);
  });
});
