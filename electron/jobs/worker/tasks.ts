// Task name -> input, result and event types for every worker task (issue 12 §2.4). Types only, from the tf-free
// *task-types.ts files, so the runtime can name tasks without loading their code.
import type { WorkerTask } from '../../../shared/worker-task';
import type {
  AugmentPreviewTaskInput,
  AugmentPreviewTaskResult,
  DescribeTaskInput,
  DescribeTaskResult,
  TrainTaskEvent,
  TrainTaskInput,
  TrainTaskResult,
} from '../../training/worker/task-types';
import type {
  InspectTaskInput,
  InspectTaskResult,
  PredictFilesEvent,
  PredictFilesInput,
  PredictFilesResult,
} from '../../inference/task-types';
import type { ExportPackageInput, ExportPackageResult } from '../../export/task-types';
import type { EmbedHealthInput, EmbedHealthResult } from '../../health/worker/task-types';
import type { TrainingTasks } from '../../training/worker/tasks';
import type { InferenceTasks } from '../../inference/tasks';
import type { ExportTasks } from '../../export/tasks';
import type { EmbedTasks } from '../../health/worker/tasks';

export interface WorkerTaskMap {
  train: { input: TrainTaskInput; result: TrainTaskResult; event: TrainTaskEvent };
  describe: { input: DescribeTaskInput; result: DescribeTaskResult; event: never };
  'augment-preview': { input: AugmentPreviewTaskInput; result: AugmentPreviewTaskResult; event: never };
  'predict-files': { input: PredictFilesInput; result: PredictFilesResult; event: PredictFilesEvent };
  inspect: { input: InspectTaskInput; result: InspectTaskResult; event: never };
  'export-package': { input: ExportPackageInput; result: ExportPackageResult; event: never };
  'embed-health': { input: EmbedHealthInput; result: EmbedHealthResult; event: never };
}
export type WorkerTaskName = keyof WorkerTaskMap;
export type TaskInput<T extends WorkerTaskName> = WorkerTaskMap[T]['input'];
export type TaskResult<T extends WorkerTaskName> = WorkerTaskMap[T]['result'];
export type TaskEvent<T extends WorkerTaskName> = WorkerTaskMap[T]['event'];

/** Every task with its implementation's type: what the worker entry serves once all registries are filled. */
export type TaskRegistry = { [T in WorkerTaskName]: WorkerTask<TaskInput<T>, TaskResult<T>, TaskEvent<T>> };

// The registries together are this map (a compile error here means a registry and the map disagree).
type Interchangeable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const registriesMatchTheMap: Interchangeable<TrainingTasks & InferenceTasks & ExportTasks & EmbedTasks, TaskRegistry> = true;
void registriesMatchTheMap;
