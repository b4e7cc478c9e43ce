import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unexpectedFailure } from '../src/index.ts';

const WITHHELD = 'which is no configuration problem (its message is withheld: it may quote a secret)';

describe('unexpectedFailure', () => {
  it("should name what failed and the error's class, never its message", () => {
    const error = new RangeError('Infisical siteUrl https://ops:hunter2-pw@x.vn is wrong');

    const line = unexpectedFailure('loading the settings', error);

    assert.equal(line, `loading the settings failed with RangeError, ${WITHHELD}`);
  });

  it("should add a system error's code and call, as Node names them", () => {
    const error = Object.assign(new Error("EACCES: permission denied, open '/run/secrets/hunter2-pw'"), {
      code: 'EACCES',
      syscall: 'open',
    });

    assert.equal(
      unexpectedFailure('loading the settings', error),
      `loading the settings failed with Error [EACCES, open], ${WITHHELD}`,
    );
  });

  it('should keep to one line whatever was thrown', () => {
    const strange = Object.assign(new Error('x'), { name: 'Bad\nName hunter2-pw', code: 'not a code\nhunter2-pw' });

    for (const thrown of [strange, 'hunter2-pw', undefined]) {
      const line = unexpectedFailure('starting', thrown);

      assert.ok(!line.includes('\n') && !line.includes('hunter2-pw'), line);
    }
    assert.equal(unexpectedFailure('starting', 'hunter2-pw'), `starting failed with a thrown string, ${WITHHELD}`);
  });
});
