// Bundles the Node/Electron side into dist/node. Dependencies stay external (native modules, tfjs, sharp), so
// the bundle holds only our code. The preload is CommonJS: sandboxed preloads cannot be ES modules.
import { build } from 'esbuild';
import { readdir } from 'node:fs/promises';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};

// Extra process entries (e.g. the job worker, electron/jobs/worker/job-worker-entry.ts) are picked up from electron/**/*-entry.ts.
async function findEntries(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('-entry.ts')) found.push(`${entry.parentPath ?? entry.path}/${entry.name}`);
  }
  return found;
}

const workerEntries = await findEntries('electron');

await Promise.all([
  build({
    ...common,
    format: 'esm',
    entryPoints: {
      main: 'electron/main.ts',
      cli: 'electron/cli/entry.ts',
      ...Object.fromEntries(workerEntries.map((path) => [path.replace(/^.*\//, '').replace(/\.ts$/, ''), path])),
    },
    outdir: 'dist/node',
    outExtension: { '.js': '.js' },
    external: ['electron'],
  }),
  build({ ...common, format: 'cjs', entryPoints: { preload: 'electron/preload.ts' }, outdir: 'dist/node', outExtension: { '.js': '.cjs' }, external: ['electron'] }),
]);
