// Which test files form the slow suite (`npm run test:slow`): those that train models, build MobileNetV2 or run
// long corpora. Everything else under test/unit is the unit suite, which must stay under 90 s on 2 cores.
// A new slow test can declare itself by its name instead of a line here: *.slow.test.ts.
// `npm test` (and so CI) runs the unit and slow suites as one pool, two files at a time, longest first
// (scripts/test-file-times.json): a move between the suites keeps the unit suite quick for developers and costs CI nothing.
// Entries are paths or folder prefixes relative to the repository root.
// Measured once (file wall times at one file at a time, 2 busy cores: /work/briefs/unit-durations.txt); everything
// left in the unit suite took under 10 s.
export const SLOW = [
  'test/unit/mobilenet/', // MobileNetV2: weights, features, feature threads, Keras import (69 s together)
  'test/unit/backend/wasm-gradients.test.ts', // trains on the WebAssembly backend (29 s)
  'test/unit/training/trainer.test.ts', // trains models (23 s)
  'test/unit/training-app/transfer.test.ts', // training workers, transfer learning (39 s)
  'test/unit/training-app/transfer-determinism.test.ts', // (11 s)
  'test/unit/training-app/lifecycle.test.ts', // training workers (19 s)
  'test/unit/training-app/unrecorded-finish.test.ts', // training workers (20 s)
  'test/unit/training-app/channels.test.ts', // trains through the CLI (9 s)
  'test/unit/export/predict.test.ts', // each trains a tiny model first (4-6 s each)
  'test/unit/export/package.test.ts',
  'test/unit/export/service.test.ts',
  'test/unit/export/model-loading-safety.test.ts',
  'test/unit/runs/cli.test.ts', // a real model (5 s)
  'test/unit/dataset/many-files.test.ts', // imports 2,000 files twice in a child process under a 256-handle limit (12 s;
  // sixth session: it imported 12,000 under the machine's 20,000-handle limit, 49-69 s, which no handle leak could reach)
  'test/unit/dataset/shared-data.test.ts', // imports the 2,000 real photos when ../shared is there (20 s)
  'test/unit/foundation/catalogue-concurrent-open.test.ts', // twelve processes open one catalogue (11 s)
  'test/unit/foundation/cli-catalogue-errors.test.ts', // CLI processes, a busy-timeout wait (32 s)
  // Added in the fourth session, from the quiet CI run's file times (the unit suite had grown to 109 s):
  'test/unit/health/health-job.test.ts', // embeds generated pictures with the MobileNetV2 base (10.6 s)
  'test/unit/training/parallel.test.ts', // trains models on two threads (9.8 s)
  'test/unit/export/targets.test.ts', // builds and exports models for three targets, runs ONNX Runtime (8.3 s)
  'test/unit/backend/native-kernels.test.ts', // C kernels against the CPU backend on preset-sized layers (7.9 s)
  // Added in the fifth session (fresh-clone CI file times; the unit suite had grown to 153 s):
  'test/unit/dataset/import-batches.test.ts', // imports 180 photos in batches, with thumbnails (8.9 s)
  'test/unit/bench/generate-photos.test.ts', // generates and decodes JPEGs, checks a classifier learns them (4.1 s)
  'test/unit/catalogue/grid-queries.test.ts', // builds catalogues of thousands of rows (4.0 s)
  'test/unit/training/streamed-pipeline.test.ts', // decodes images twice, in memory and streamed (3.8 s)
  'test/unit/catalogue/excluded-reimport.test.ts', // imports and re-imports photos (3.7 s)
];

/** Whether a test file (path relative to the repository root, '/' separators) belongs to the slow suite. */
export function isSlow(path) {
  const file = path.split('\\').join('/');
  return file.endsWith('.slow.test.ts') || SLOW.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry));
}
