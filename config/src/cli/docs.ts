import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderReference } from '../reference.js';

// `npm run config:docs`: writes the configuration reference page from the schema.
const target = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
writeFileSync(`${target}.tmp`, renderReference());
renameSync(`${target}.tmp`, target);
process.stdout.write(`config:docs: wrote ${target}\n`);
