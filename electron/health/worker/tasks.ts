// The data-health tasks a job worker process can run (issue 15). Loads TensorFlow.js: only the worker entry
// (jobs/worker/job-worker-entry.ts) imports this file; the main side names the task through task-types.ts.
import type { WorkerTask } from '../../../shared/worker-task';
import { embedHealthTask } from './embed-task';
import type { EmbedHealthInput, EmbedHealthResult } from './task-types';

export interface EmbedTasks {
  'embed-health': WorkerTask<EmbedHealthInput, EmbedHealthResult>;
}

export const embedTasks: EmbedTasks = { 'embed-health': embedHealthTask };
