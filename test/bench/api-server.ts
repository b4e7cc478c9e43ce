import { loadConfig } from '@pdpl/config';
import { buildApp } from '../../services/api/src/app.ts';
import { serveToParent } from './serve-to-parent.ts';

// Targets 2 and 3: the whole API, configured from the environment the bench passes, as the service reads its own.

const app = await buildApp(loadConfig({ env: process.env }));
await serveToParent(app);
