// The export tasks a job worker process can run (issue 12 §2.4): WP5 registers `export-package` here (packaging and
// verification both run in the worker), and the worker entry serves whatever is registered. Empty until then.
import type { WorkerTask } from '../../shared/worker-task';
import type { ExportPackageInput, ExportPackageResult } from './task-types';

export interface ExportTasks {
  'export-package': WorkerTask<ExportPackageInput, ExportPackageResult>;
}

export const exportTasks: Partial<ExportTasks> = {};
