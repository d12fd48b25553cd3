// Data health (issue 15): health.run starts a health job; health.latest answers the dataset's newest report with its
// stale flag (labels or images changed since it was computed).
import { getDatasetRow } from '../catalogue/datasets';
import { latestHealthReport } from '../catalogue/health';
import { healthKind } from '../jobs/kinds/health';
import type { healthRequests } from '../../shared/contract/health';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

export function healthHandlers(app: AppContext): DomainHandlers<typeof healthRequests> {
  app.jobs.register(healthKind);
  return {
    'health.run': async (input) => {
      const { job } = await app.jobs.start({ kind: 'health', input });
      return { jobId: job.id };
    },
    'health.latest': async ({ datasetId }) => {
      getDatasetRow(app.db, datasetId);
      return { report: latestHealthReport(app.db, datasetId) };
    },
  };
}
