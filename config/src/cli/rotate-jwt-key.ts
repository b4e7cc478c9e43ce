import { rotateJwtKey } from '../secret-files.js';
import { flagsOrExit } from './arguments.js';
import { secretsTarget } from './secrets-target.js';

// `node config/dist/cli/rotate-jwt-key.js [--retire] [--dir DIR]`: the file half of `npm run jwt:rotate`
// (scripts/rotate-jwt-key.sh recreates the API afterwards). Prints what it did, never a key. Exit 0, 64 for bad
// arguments, 1 when the files cannot be written.

const USAGE = 'usage: npm run jwt:rotate [-- --retire] [-- --dir DIR]   (DIR: $PDPL_SECRETS_DIR or .secrets)';

const values = flagsOrExit('jwt:rotate', USAGE, { dir: { type: 'string' }, retire: { type: 'boolean' } } as const);
const { dir, gid } = secretsTarget('jwt:rotate', values.dir);
const retire = values.retire === true;
try {
  rotateJwtKey({ dir, gid, retire });
  process.stdout.write(
    retire
      ? 'jwt:rotate: retired the previous key; tokens it signed are refused once the API restarts\n'
      : 'jwt:rotate: new signing key; tokens of the old one stay valid until you run npm run jwt:rotate -- --retire\n',
  );
} catch (error) {
  process.stderr.write(`jwt:rotate: FAIL: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
