import { runMigrations } from '../db/migrations.js';
import { runCli } from './run-cli.js';

// The one-shot migration step (`migrate` service in docker-compose.yml): the API never changes the schema itself.
await runCli('migrate', async (settings) => {
  const names = await runMigrations(settings);
  process.stdout.write(names.length ? `migrate: applied ${names.join(', ')}\n` : 'migrate: schema is up to date\n');
});
