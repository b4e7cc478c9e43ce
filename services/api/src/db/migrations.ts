import { fileURLToPath } from 'node:url';
import type { Settings } from '@pdpl/config';
import { runner } from 'node-pg-migrate';
import { connectionOptions } from './pool.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies every pending migration in one transaction; returns the names of those applied. Runs as the owner role
 * (DATABASE_USER=pdpl_owner in the migrate service): the API's own role may not change the schema. Tables go to
 * schema pdpl, the history to pdpl_migrations, which the API's role cannot read; the database image creates both.
 */
export async function runMigrations(settings: Settings): Promise<string[]> {
  try {
    const applied = await runner({
      databaseUrl: connectionOptions(settings),
      dir: MIGRATIONS_DIR,
      direction: 'up',
      schema: 'pdpl',
      migrationsSchema: 'pdpl_migrations',
      migrationsTable: 'pgmigrations',
      singleTransaction: true,
      checkOrder: true,
      log: () => {},
    });
    return applied.map((migration) => migration.name);
  } catch (error) {
    throw new Error(migrationFailure(error as Error, settings.database.user));
  }
}

/** node-pg-migrate folds the driver's stack into its messages: the operator gets the first line and a fix. */
function migrationFailure(error: Error, user: string): string {
  const reason = error.message.split('\n')[0] ?? '';
  if (!/permission denied/.test(reason)) return reason;
  return `${reason}; migrations run as the owner role: set DATABASE_USER=pdpl_owner and its password (now: ${user})`;
}
