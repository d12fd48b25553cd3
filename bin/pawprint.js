#!/usr/bin/env node
// npx pawprint: runs the bundled CLI (built by `npm install` through the prepare script, or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('pawprint: the app is not built yet; run `npm run build` in the Pawprint folder first.\n');
  process.exit(1);
}
await import(pathToFileURL(cli).href);
