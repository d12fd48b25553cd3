// Jobs: every long task (import, download, train, evaluate, export, predict) is started, followed and cancelled the
// same way, whichever process runs it. Each kind has an input schema (what jobs.start takes) and a result schema.
import { z } from 'zod';
import { defineEvents, defineRequests } from './define';
import { ImportSummary } from './datasets';
import { TrainPhase, TrainingConfigInput, TrainingStage } from './training';
import { EvaluationSummary, FileError } from './runs';
import { ExportFormat, ExportPredictResult, ExportResult, ExportTarget, ImageSource, ModelSource } from './export';
import { HealthJobInput, HealthJobResult } from './health';

const Id = z.number().int().positive();
export const JobId = Id;

/** Every long task is one of these. */
export const JobKind = z.enum(['import', 'download', 'train', 'evaluate', 'export', 'predict', 'health']);
export type JobKind = z.infer<typeof JobKind>;
export const JobStatus = z.enum(['queued', 'running', 'completed', 'cancelled', 'failed']);
export type JobStatus = z.infer<typeof JobStatus>;
export const JobEndStatus = z.enum(['completed', 'cancelled', 'failed']);
export type JobEndStatus = z.infer<typeof JobEndStatus>;
/** cpu: at most PAWPRINT_CPU_JOBS (default 1) at a time on this machine; io: import/download; interactive: small Try-it predictions. */
export const JobLane = z.enum(['cpu', 'io', 'interactive']);
export type JobLane = z.infer<typeof JobLane>;

// ---- what jobs.start takes, per kind
export const ImportJobInput = z.object({ path: z.string().min(1), name: z.string().trim().min(1).max(100).optional(), datasetId: Id.optional() });
export const DownloadJobInput = z.object({ dataset: z.literal('tutorial') });
export const TrainJobInput = z.object({
  datasetId: Id, splitId: Id.optional(), name: z.string().trim().min(1).max(200).optional(),
  config: TrainingConfigInput, parentRunId: Id.optional(),
});
export const EvaluateJobInput = z.object({ runId: Id, datasetId: Id.optional(), folder: z.string().min(1).optional() })
  .refine((p) => !(p.datasetId !== undefined && p.folder !== undefined), 'give a dataset or a folder, not both');
export { ExportTarget };
export const ExportJobInput = z.object({
  runId: Id, target: ExportTarget.default('tfjs'), out: z.string().min(1).optional(), format: ExportFormat.default('zip'),
  overwrite: z.boolean().default(false), images: z.array(ImageSource).max(100).optional(),
  maxImages: z.number().int().min(1).max(10000).default(200),
});
export const PredictJobInput = z.object({
  model: ModelSource, images: z.array(ImageSource).min(1).max(1000), batchSize: z.number().int().min(1).max(256).default(16),
});
export const JobStart = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('import'), input: ImportJobInput }),
  z.object({ kind: z.literal('download'), input: DownloadJobInput }),
  z.object({ kind: z.literal('train'), input: TrainJobInput }),
  z.object({ kind: z.literal('evaluate'), input: EvaluateJobInput }),
  z.object({ kind: z.literal('export'), input: ExportJobInput }),
  z.object({ kind: z.literal('predict'), input: PredictJobInput }),
  z.object({ kind: z.literal('health'), input: HealthJobInput }),
]);
export type JobStartIn = z.input<typeof JobStart>;
export type JobStart = z.output<typeof JobStart>;
export type JobInput<K extends JobKind> = Extract<JobStart, { kind: K }>['input'];

// ---- what each kind returns (small: references and summaries; details are fetched by id)
export const DownloadJobResult = z.object({ datasetId: Id.nullable(), importId: Id.nullable(), importJobId: JobId.nullable() });
export const TrainJobResult = z.object({
  runId: Id, status: JobEndStatus, bestEpoch: z.number().int().nullable(), bestValAccuracy: z.number().nullable(),
  testAccuracy: z.number().nullable(), testLoss: z.number().nullable(), modelPath: z.string().nullable(),
});
/** The stored evaluation (fetch predictions with runs.evaluation / runs.misclassified). */
export const EvaluateJobResult = EvaluationSummary.extend({ errors: z.array(FileError) });
export const JobResults = {
  import: ImportSummary, download: DownloadJobResult, train: TrainJobResult,
  evaluate: EvaluateJobResult, export: ExportResult, predict: ExportPredictResult, health: HealthJobResult,
} as const satisfies Record<JobKind, z.ZodType>;
export type JobResult<K extends JobKind> = z.output<(typeof JobResults)[K]>;

// ---- progress: one shape for every kind; `detail` carries what one view needs beyond the bar
export const QueueDetail = z.object({ type: z.literal('queue'), position: z.number().int().positive(), waitingFor: z.array(JobId) });
export const ImportDetail = z.object({
  type: z.literal('import'), datasetId: Id, importId: Id, scanned: z.number().int(), rejected: z.number().int(),
  duplicates: z.number().int(), imagesPerSecond: z.number(),
});
export const TrainDetail = z.object({
  type: z.literal('train'), runId: Id, stage: TrainingStage, phase: TrainPhase, epoch: z.number().int(), epochs: z.number().int(),
  batch: z.number().int(), batches: z.number().int(), loss: z.number().nullable(), accuracy: z.number().nullable(),
  imagesPerSecond: z.number().nullable(),
});
export const JobProgressDetail = z.discriminatedUnion('type', [QueueDetail, ImportDetail, TrainDetail]);
export const JobProgress = z.object({
  id: JobId,
  kind: JobKind,
  /** Words: queued, starting, scanning, processing, download, extract, decoding, weights, features, training, evaluating, saving, loading, packaging, verifying, predicting. */
  phase: z.string().min(1).max(40),
  done: z.number().min(0),
  /** null while unknown (scanning, a download without Content-Length). */
  total: z.number().min(0).nullable(),
  /** Seconds left: the kind's own estimate, else the runtime's from done/total at a smoothed rate; null until there is
   * enough progress to judge by (electron/jobs/eta.ts). */
  etaSeconds: z.number().min(0).nullable(),
  message: z.string().max(500).nullable(),
  detail: JobProgressDetail.nullable(),
});
export type JobProgress = z.infer<typeof JobProgress>;

const finished = <K extends JobKind>(kind: K) => z.object({
  id: JobId, kind: z.literal(kind), status: JobEndStatus,
  /** Present when the kind produced one (a cancelled run still has its saved epochs). z.nullable() keeps each kind's own
   * result type (a `.nullable()` call on the generic index resolved to every kind's union, so `kind` did not narrow it). */
  result: z.nullable(JobResults[kind]),
  error: z.string().nullable(),
});
export const JobFinished = z.discriminatedUnion('kind', [
  finished('import'), finished('download'), finished('train'), finished('evaluate'), finished('export'), finished('predict'), finished('health'),
]);
export type JobFinished = z.infer<typeof JobFinished>;

export const JobOwner = z.object({ host: z.string(), pid: z.number().int(), thisProcess: z.boolean() });
export const JobInfo = z.object({
  id: JobId, kind: JobKind, status: JobStatus, lane: JobLane,
  /** "Train cnn 2025-01-01 10:00 on pets", "Import ~/Photos/pets". */
  title: z.string(),
  datasetId: Id.nullable(), runId: Id.nullable(),
  owner: JobOwner,
  createdAt: z.string(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(),
  queuePosition: z.number().int().positive().nullable(),
  cancelRequested: z.boolean(),
  progress: JobProgress.nullable(),
  error: z.string().nullable(),
});
export type JobInfo = z.infer<typeof JobInfo>;

export const jobRequests = defineRequests({
  /** Validates the input against the catalogue (refusing with words before anything is queued), records and queues the job, answers at once. */
  'jobs.start': { payload: JobStart, result: z.object({ job: JobInfo }) },
  /** Queued: cancelled at once. Running here: stops after the current step (killed after a grace time). Another process's: cancel requested. */
  'jobs.cancel': { payload: z.object({ id: JobId }), result: z.object({ job: JobInfo, cancelled: z.boolean() }) },
  'jobs.list': {
    payload: z.object({ active: z.boolean().default(false), kind: JobKind.optional(), limit: z.number().int().min(1).max(1000).default(100) }),
    result: z.object({ jobs: z.array(JobInfo) }),
  },
  'jobs.get': { payload: z.object({ id: JobId }), result: z.object({ job: JobInfo, finished: JobFinished.nullable() }) },
});
export const jobEvents = defineEvents({
  'jobs.progress': JobProgress,
  'jobs.finished': JobFinished,
  'jobs.log': z.object({ id: JobId, kind: JobKind, level: z.enum(['info', 'warn']), message: z.string().max(2000) }),
});
