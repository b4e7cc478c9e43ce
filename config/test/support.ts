import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { LoadOptions } from '../src/index.ts';
import { ConfigError, loadConfig } from '../src/index.ts';

// Helpers shared by the configuration tests.

/** A `.env` path that never exists, so no developer's own .env reaches a test. */
export const NO_DOTENV = join(tmpdir(), 'pdpl-tests-have-no-dotenv', '.env');

export interface ScratchFolder {
  readonly path: string;
  /** Writes a file (mode 0600) into the folder and returns its path. */
  file(name: string, content: string): string;
}

/** A temporary folder, removed when the test file finishes. */
export function scratchFolder(prefix: string): ScratchFolder {
  const path = mkdtempSync(join(tmpdir(), `pdpl-${prefix}-`));
  after(() => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    file(name, content) {
      const target = join(path, name);
      writeFileSync(target, content, { mode: 0o600 });
      return target;
    },
  };
}

/** The problems loadConfig reports, each as "<key or variable>: <message>"; empty when the settings are valid. */
export function problemsOf(options: LoadOptions, label: 'key' | 'env' = 'key'): string[] {
  try {
    loadConfig({ dotenvPath: NO_DOTENV, ...options });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems.map((problem) => `${problem[label]}: ${problem.message}`);
  }
}
