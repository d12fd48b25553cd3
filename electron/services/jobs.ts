// jobs.start/cancel/list/get: the contract has validated the payload; the runtime (electron/jobs/runtime.ts) does the rest.
import type { jobRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

export function jobHandlers(app: AppContext): DomainHandlers<typeof jobRequests> {
  return {
    'jobs.start': async (start) => ({ job: (await app.jobs.start(start)).job }),
    'jobs.cancel': async ({ id }) => app.jobs.cancel(id),
    'jobs.list': async ({ active, kind, limit }) => ({ jobs: app.jobs.list({ active, kind, limit }) }),
    'jobs.get': async ({ id }) => app.jobs.get(id),
  };
}
