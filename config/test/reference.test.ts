import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SETTINGS } from '../src/index.ts';
import { renderReference } from '../src/reference.ts';

const PAGE = new URL('../../docs/configuration.md', import.meta.url);

describe('configuration reference', () => {
  it('should match the committed docs/configuration.md (run `npm run config:docs` after changing the schema)', () => {
    assert.equal(readFileSync(PAGE, 'utf8'), renderReference());
  });

  it('should describe every setting, each under its own variable', () => {
    const variables = SETTINGS.map((setting) => setting.env);

    assert.equal(new Set(variables).size, variables.length);
    for (const setting of SETTINGS) assert.ok(setting.doc.length > 10, `${setting.key} has no description`);
  });
});
