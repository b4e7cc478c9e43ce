import { parseArgs } from 'node:util';
import pg from 'pg';
import { isEmail } from '../auth/email.js';
import { Passwords, passwordProblem } from '../auth/passwords.js';
import { connectionOptions } from '../db/pool.js';
import { UserExistsError, UserStore } from '../db/users.js';
import { readSecretLine } from './read-secret.js';
import { runCli, UsageError } from './run-cli.js';

const USAGE = 'usage: create-user --email <address>   (the password is read from standard input)';

function parseEmail(): string {
  let values: { email?: string | undefined };
  try {
    ({ values } = parseArgs({ options: { email: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (!values.email) throw new UsageError(`--email is required\n${USAGE}`);
  if (!isEmail(values.email)) {
    throw new UsageError(`--email "${values.email}" is not an email address login accepts (ASCII; punycode domains)`);
  }
  return values.email;
}

await runCli('create-user', async (settings) => {
  const email = parseEmail();
  const password = await readSecretLine(`Password for ${email}: `);
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(`the password ${problem} (read from standard input)`);

  const client = new pg.Client(connectionOptions(settings));
  await client.connect();
  try {
    const user = await new UserStore(client).create(email, await new Passwords(settings).hash(password));
    process.stdout.write(`create-user: created ${user.email} (${user.id})\n`);
  } catch (error) {
    if (error instanceof UserExistsError) throw new UsageError(error.message);
    throw error;
  } finally {
    await client.end();
  }
});
