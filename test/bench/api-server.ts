import { loadConfig } from '@pdpl/config';
import { serveToParent } from './serve-to-parent.ts';

// Targets 2 to 4: the whole API, configured from the environment the bench passes, as the service reads its own.
// The compiled API, as production runs it (npm run bench builds it first), not TypeScript through a loader; the
// type comes from the source, which the build compiles.
const APP = new URL('../../services/api/dist/app.js', import.meta.url).href;
const { buildApp } = (await import(APP)) as typeof import('../../services/api/src/app.ts');

const app = await buildApp(loadConfig({ env: process.env }));
await serveToParent(app);
