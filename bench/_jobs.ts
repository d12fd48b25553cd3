// What the benches need from the job runtime: import a folder and train a run through jobs.start, the same path the
// app and the CLI take, and wait for the end. Progress and log lines of the job are handed to the caller.
import type { ImportSummary } from '../shared/contract/datasets';
import type { JobInput, JobProgress } from '../shared/contract/jobs';
import type { Services } from '../electron/services/index';

/** Imports a folder (a new dataset, or into `datasetId`) and answers its summary; anything but completed throws. */
export async function importFolder(services: Services, input: JobInput<'import'>): Promise<ImportSummary> {
  const { job } = await services.request('jobs.start', { kind: 'import', input });
  const finished = await services.app.jobs.wait(job.id);
  if (finished.kind !== 'import' || finished.status !== 'completed' || !finished.result) {
    throw new Error(`import of ${input.path} ${finished.status}: ${finished.error ?? 'no summary'}`);
  }
  return finished.result;
}

export interface TrainWatch {
  progress?(progress: JobProgress): void;
  log?(message: string): void;
}

/** Queues a training run, follows its job and answers its run id and how it ended. */
export async function trainRun(services: Services, input: JobInput<'train'>, watch: TrainWatch = {}): Promise<{ runId: number; status: string; error: string | null }> {
  let jobId: number | null = null;
  // Events can arrive before jobs.start answers: keep them until the id is known.
  const early: Array<{ name: string; payload: unknown }> = [];
  const deliver = (name: string, payload: unknown) => {
    if (name === 'jobs.progress') watch.progress?.(payload as JobProgress);
    else if (name === 'jobs.log') watch.log?.((payload as { message: string }).message);
  };
  const off = services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress' && name !== 'jobs.log') return;
    const id = (payload as { id: number }).id;
    if (jobId === null) early.push({ name, payload });
    else if (id === jobId) deliver(name, payload);
  });
  try {
    const { job } = await services.request('jobs.start', { kind: 'train', input });
    jobId = job.id;
    for (const event of early) if ((event.payload as { id: number }).id === jobId) deliver(event.name, event.payload);
    const finished = await services.app.jobs.wait(job.id);
    if (job.runId === null) throw new Error(`train job ${job.id} has no run`);
    return { runId: job.runId, status: finished.status, error: finished.error };
  } finally {
    off();
  }
}
