import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, found from this module whether it runs from the sources (tsx) or from the bundled dist/ folder. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

/** The built UI. PAWPRINT_RENDERER_DIR points elsewhere, so developers can build and test the UI side by side. */
export function rendererRoot(): string {
  return process.env.PAWPRINT_RENDERER_DIR ?? join(projectRoot(), 'dist', 'renderer');
}
