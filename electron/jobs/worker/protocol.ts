// The messages between the job runtime and a worker process (issue 12 §2.4). JSON values only: the same messages
// travel over Node's child-process IPC and Electron's utilityProcess port. Both sides validate what they receive
// with the schemas below, so a malformed message is refused in words instead of being half-read.
import { z } from 'zod';
import { BackendStatus } from '../../../shared/contract/system';
import { JobEndStatus, JobProgress } from '../../../shared/contract/jobs';
import type { TaskProgress, TaskSettings } from '../../../shared/worker-task';
import { errorCodes } from '../../../shared/errors';
import type { ErrorCode } from '../../../shared/errors';

export type WorkerInbound =
  | { type: 'run'; taskId: number; task: string; input: unknown; settings: TaskSettings }
  | { type: 'cancel'; taskId: number }
  | { type: 'shutdown' };

export type WorkerOutbound =
  | { type: 'ready'; backend?: BackendStatus & { threads?: number } }
  | { type: 'progress'; taskId: number; progress: TaskProgress }
  /** Validated by the task's event schema on the main side. */
  | { type: 'event'; taskId: number; event: unknown }
  | { type: 'log'; taskId: number; level: 'info' | 'warn'; message: string }
  /** `code` keeps an AppError's code across the process boundary (a missing file stays 'not-found'). */
  | { type: 'done'; taskId: number; status: JobEndStatus; result: unknown; error: string | null; code?: ErrorCode }
  /** A failure outside any task: the process exits. */
  | { type: 'fatal'; message: string };

const taskId = z.number().int().nonnegative();

export const taskSettings = z.object({
  threads: z.number().int().positive(),
  cacheDir: z.string(),
  appVersion: z.string(),
  progressIntervalMs: z.number().min(0),
}) satisfies z.ZodType<TaskSettings>;

export const taskProgress = JobProgress.omit({ id: true, kind: true }) satisfies z.ZodType<TaskProgress>;

export const workerInbound = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), taskId, task: z.string().min(1), input: z.unknown(), settings: taskSettings }),
  z.object({ type: z.literal('cancel'), taskId }),
  z.object({ type: z.literal('shutdown') }),
]) satisfies z.ZodType<WorkerInbound>;

export const workerOutbound = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), backend: BackendStatus.extend({ threads: z.number().int().positive().optional() }).optional() }),
  z.object({ type: z.literal('progress'), taskId, progress: taskProgress }),
  z.object({ type: z.literal('event'), taskId, event: z.unknown() }),
  z.object({ type: z.literal('log'), taskId, level: z.enum(['info', 'warn']), message: z.string() }),
  z.object({ type: z.literal('done'), taskId, status: JobEndStatus, result: z.unknown(), error: z.string().nullable(), code: z.enum(errorCodes).optional() }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
]) satisfies z.ZodType<WorkerOutbound>;
