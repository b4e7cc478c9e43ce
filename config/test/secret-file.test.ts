import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSecretFile } from '../src/sources/secret-file.ts';
import { scratchFolder } from './support.ts';

// A secret file may end with the one newline an editor or `echo` adds, in Unix or Windows form; anything more
// would silently become part of the secret, so it is refused.

const scratch = scratchFolder('secret-file');
const PADDED = {
  message: 'the file named by JWT_SECRET_FILE has white space around its value',
  fix: 'remove the blank lines or spaces around the value',
};

const read = (name: string, content: string) => readSecretFile('JWT_SECRET_FILE', scratch.file(name, content));

describe('readSecretFile', () => {
  it('should take the value as it is without a trailing newline', () => {
    assert.deepEqual(read('bare', 'Kx9-value'), { value: 'Kx9-value' });
  });

  it('should strip one trailing newline', () => {
    assert.deepEqual(read('newline', 'Kx9-value\n'), { value: 'Kx9-value' });
  });

  it('should strip one trailing carriage return and newline', () => {
    assert.deepEqual(read('crlf', 'Kx9-value\r\n'), { value: 'Kx9-value' });
  });

  for (const [name, ending] of [
    ['two newlines', '\n\n'],
    ['three newlines', '\n\n\n'],
    ['two Windows newlines', '\r\n\r\n'],
    ['a newline, then a Windows one', '\n\r\n'],
    ['a Windows newline, then a newline', '\r\n\n'],
    ['a carriage return alone', '\r'],
  ] as const) {
    it(`should refuse a value followed by ${name}`, () => {
      assert.deepEqual(read(name.replaceAll(' ', '-'), `Kx9-value${ending}`), PADDED);
    });
  }

  it('should refuse white space before the value', () => {
    assert.deepEqual(read('leading', '\nKx9-value\n'), PADDED);
  });

  it('should call a file of newlines only empty once the one newline is stripped, else padded', () => {
    assert.deepEqual(read('only-newline', '\n'), {
      message: 'the file named by JWT_SECRET_FILE is empty',
      fix: 'write the value into it',
    });
    assert.deepEqual(read('only-newlines', '\n\n'), PADDED);
  });
});
