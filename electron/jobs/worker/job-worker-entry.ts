// The job worker process: serves every registered worker task (training, inference, export, data health). Started by the pool
// (jobs/worker/pool.ts) through the launcher; never imported by main-side code.
import { serveTasks } from './serve';
import type { ServedTasks } from './serve';
import { trainingTasks } from '../../training/worker/tasks';
import { inferenceTasks } from '../../inference/tasks';
import { exportTasks } from '../../export/tasks';
import { embedTasks } from '../../health/worker/tasks';

serveTasks({ ...trainingTasks, ...inferenceTasks, ...exportTasks, ...embedTasks } as ServedTasks);
