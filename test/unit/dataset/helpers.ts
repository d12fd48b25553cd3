import type { ImportSummary } from '../../../shared/contract/datasets';
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

/** Starts an import through the contract and waits for its finished event. */
export async function importFolder(services: Services, path: string, extra: { name?: string; datasetId?: number } = {}): Promise<ImportSummary> {
  let stop: () => void = () => undefined;
  const finished = new Map<number, ImportSummary>();
  const waiters = new Map<number, (summary: ImportSummary) => void>();
  stop = services.app.events.onAny((name, payload) => {
    if (name !== 'datasets.importFinished') return;
    const summary = payload as ImportSummary;
    finished.set(summary.importId, summary);
    waiters.get(summary.importId)?.(summary);
  });
  try {
    const { importId } = await services.request('datasets.import', { path, ...extra });
    return await new Promise<ImportSummary>((resolve) => {
      const done = finished.get(importId);
      if (done) resolve(done);
      else waiters.set(importId, resolve);
    });
  } finally {
    stop();
  }
}
