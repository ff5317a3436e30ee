#!/usr/bin/env node
// Launcher for `palisade` (linked into node_modules/.bin by `npm ci`): runs the built CLI, or says
// how to build it. Committed, so the link exists before dist/ does.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    'palisade: the server is not built yet: run `npm run build` in the repository first, then try again.\n',
  );
  process.exit(1);
}
await import(main.href);
