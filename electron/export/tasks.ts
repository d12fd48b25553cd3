// The export tasks a job worker process can run (issue 12 §2.4): `export-package` writes a run's model as a package
// and verifies it against the in-app model, both in the worker. Loads TensorFlow.js: only the worker entry imports
// this file; the export kind names the task through the tf-free task-types.ts.
import type { WorkerTask } from '../../shared/worker-task';
import { ensureInferenceBackend } from '../inference/backend';
import { exportRun } from './package';
import type { ExportPackageInput, ExportPackageResult } from './task-types';

export interface ExportTasks {
  'export-package': WorkerTask<ExportPackageInput, ExportPackageResult>;
}

export const exportPackageTask: ExportTasks['export-package'] = async (input, io) => {
  io.signal.throwIfAborted();
  await ensureInferenceBackend();
  const started = performance.now();
  return exportRun({
    run: input.run,
    out: input.out,
    format: input.format,
    target: input.target,
    overwrite: input.overwrite,
    appVersion: input.appVersion,
    images: input.images,
    // Checked between verification batches and before the package replaces the target: a cancel leaves nothing there.
    signal: io.signal,
    onProgress: (stage, done, total) => {
      const seconds = (performance.now() - started) / 1000;
      const etaSeconds = stage === 'verifying' && done > 0 && done < total ? (seconds / done) * (total - done) : null;
      io.progress({ phase: stage, done, total, etaSeconds, message: null, detail: null });
    },
  });
};

export const exportTasks: ExportTasks = { 'export-package': exportPackageTask };
