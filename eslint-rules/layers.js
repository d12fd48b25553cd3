// The folder map of the code, lowest layer first: the one list that eslint-rules/plugin.js enforces, the README's
// "Layout" paragraph describes and test/unit/foundation/layers.test.ts reads.
//
//   shared <- platform (files/, paths.ts, build-paths.ts) <- catalogue <- dataset, inference, training
//          <- evaluation, export, health <- jobs <- services <- desktop <- host <- cli, main (+ preload)
//
// A module imports only itself and the modules in its `imports`; anything else is reported by `pawprint/layers`.
// Globs are minimatch patterns relative to the repository root. Folders that do not exist yet (imaging, tfjs,
// inference, jobs, health) are placed now so that files moved or created there are checked from the first commit.
// A new top-level folder under electron/ must be added here: lint reports files that are in no module.
export const MODULES = [
  { name: 'shared', files: ['shared/**'], imports: [] },
  { name: 'platform', files: ['electron/files/**', 'electron/paths.ts', 'electron/build-paths.ts'], imports: ['shared'] },
  { name: 'imaging', files: ['electron/imaging/**'], imports: ['shared', 'platform'] },
  { name: 'tfjs', files: ['electron/tfjs/**'], imports: ['shared'] },
  { name: 'catalogue', files: ['electron/catalogue/**'], imports: ['shared', 'platform'] },
  { name: 'dataset', files: ['electron/dataset/**'], imports: ['shared', 'platform', 'imaging', 'catalogue'] },
  { name: 'inference', files: ['electron/inference/**'], imports: ['shared', 'platform', 'imaging', 'tfjs'] },
  // Training code runs in worker processes without the database: no catalogue, no dataset.
  { name: 'training', files: ['electron/training/**'], imports: ['shared', 'platform', 'imaging', 'tfjs', 'inference'] },
  // Evaluation and export share what they need through inference, never each other.
  { name: 'evaluation', files: ['electron/evaluation/**'], imports: ['shared', 'platform', 'imaging', 'catalogue', 'inference'] },
  { name: 'export', files: ['electron/export/**'], imports: ['shared', 'platform', 'imaging', 'tfjs', 'catalogue', 'inference'] },
  { name: 'health', files: ['electron/health/**'], imports: ['shared', 'platform', 'imaging', 'tfjs', 'catalogue', 'inference', 'training'] },
  { name: 'jobs', files: ['electron/jobs/**'], imports: ['shared', 'platform', 'imaging', 'catalogue', 'dataset', 'inference', 'training', 'evaluation', 'export', 'health'] },
  { name: 'services', files: ['electron/services/**'], imports: ['shared', 'platform', 'imaging', 'catalogue', 'dataset', 'inference', 'training', 'evaluation', 'export', 'health', 'jobs'] },
  // Electron-side helpers of the desktop app (protocols, window security); host/electron-ipc.ts and main.ts use them.
  { name: 'desktop', files: ['electron/desktop/**'], imports: ['shared', 'platform', 'services'] },
  { name: 'host', files: ['electron/host/**'], imports: ['shared', 'platform', 'services', 'desktop'] },
  { name: 'cli', files: ['electron/cli/**'], imports: ['shared', 'platform', 'services', 'host'] },
  { name: 'main', files: ['electron/main.ts', 'electron/preload.ts'], imports: ['shared', 'platform', 'services', 'host', 'desktop'] },
  { name: 'renderer', files: ['renderer/**'], imports: ['shared'] },
];

/** The only files that may import 'electron' (type-only imports included). */
export const ELECTRON_ALLOWED = [
  'electron/main.ts',
  'electron/preload.ts',
  'electron/desktop/**',
  'electron/host/electron-ipc.ts',
  // The Electron worker launcher (utilityProcess inside Electron).
  'electron/jobs/worker/launcher.ts',
];

/** Process entries: started by path in a worker or child process, never imported. */
export const PROCESS_ENTRIES = ['electron/**/*-entry.ts'];

/**
 * Violations that exist while issue 12 is in progress. Each fix deletes its line in the same commit (the test
 * "every known violation is still in the code" fails on a line whose import is gone); Phase C leaves the list empty.
 * `file` imports `target` (a repository path, or the package name for 'electron'); rule: 'layers' | 'no-import-cycles'.
 */
export const KNOWN_VIOLATIONS = [
];

/**
 * Code that runs in the Electron main process, the browser host's process or the CLI's: none of it may load
 * TensorFlow.js, even through another file (models run in job worker processes). `pawprint/no-tfjs-in-host` follows
 * every value import (type-only imports are erased) from these files and reports a route to @tensorflow/* or tfjs/.
 */
export const HOST_SIDE = [
  'electron/main.ts',
  'electron/preload.ts',
  'electron/desktop/**',
  'electron/host/**',
  'electron/cli/**',
  'electron/services/**',
  'electron/jobs/**',
  'electron/catalogue/**',
  'electron/dataset/**',
  'electron/evaluation/**',
];

/** Where TensorFlow.js is loaded: a value import of one of these loads it. */
export const TFJS_FILES = ['electron/tfjs/**'];
