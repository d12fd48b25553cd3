// Data health (issue 15): health.run starts a health job; health.latest answers the dataset's newest report with its
// stale flag (labels or images changed since it was computed); health.exclude / include / excluded drop images from the
// dataset and bring them back without touching their files.
import { getDatasetRow } from '../catalogue/datasets';
import { excludedImages, excludeImages, healthSuggestions, includeImages, latestHealthReport } from '../catalogue/health';
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
    // datasets.changed: the dataset's counts and grid change (excluded images leave them).
    'health.exclude': async ({ datasetId, imageIds, reason }) => {
      const excluded = excludeImages(app.db, datasetId, imageIds, reason);
      app.events.emit('datasets.changed', { datasetId });
      return { excluded };
    },
    'health.include': async ({ datasetId, imageIds }) => {
      const included = includeImages(app.db, datasetId, imageIds);
      app.events.emit('datasets.changed', { datasetId });
      return { included };
    },
    'health.excluded': async ({ datasetId }) => ({ images: excludedImages(app.db, datasetId) }),
    'health.suggestions': async ({ datasetId }) => healthSuggestions(app.db, datasetId),
  };
}
