import { fileURLToPath } from 'node:url';
import type { Settings } from '@pdpl/config';
import { runner } from 'node-pg-migrate';
import { connectionOptions } from './pool.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies every pending migration in one transaction; returns the names of those applied. */
export async function runMigrations(settings: Settings): Promise<string[]> {
  const applied = await runner({
    databaseUrl: connectionOptions(settings),
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: () => {},
  });
  return applied.map((migration) => migration.name);
}
