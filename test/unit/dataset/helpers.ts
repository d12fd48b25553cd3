import type { ImportSummary } from '../../../shared/contract/datasets';
import type { JobFinished } from '../../../shared/contract/jobs';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { tempDir, tempPaths } from '../../support/temp';

export function openServices(): { services: Services; dir: string; close(): Promise<void> } {
  const dir = tempDir('pawprint-dataset-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  return {
    services,
    dir: dir.path,
    async close() {
      await services.close();
      dir.cleanup();
    },
  };
}

/** Starts an import job through the contract (jobs.start) and answers the summary its jobs.finished event carries. */
export async function importFolder(services: Services, path: string, extra: { name?: string; datasetId?: number } = {}): Promise<ImportSummary> {
  const finished = new Map<number, JobFinished>();
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.finished') finished.set((payload as JobFinished).id, payload as JobFinished);
  });
  try {
    const { job } = await services.request('jobs.start', { kind: 'import', input: { path, ...extra } });
    const end = finished.get(job.id) ?? await services.app.events.next('jobs.finished', (event) => event.id === job.id, 120_000);
    if (end.kind !== 'import' || !end.result) throw new Error(`import job ${job.id} ended ${end.status} with no summary: ${end.error ?? ''}`);
    return end.result;
  } finally {
    stop();
  }
}
