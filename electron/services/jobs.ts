// The jobs.* channels are in the contract from issue 12 Phase A so that every package codes against them; the job
// runtime (electron/jobs/runtime.ts, WP3) answers them. Until it is wired in, each channel refuses with one line
// instead of pretending: the old per-domain channels (datasets.import, training.start, ...) still do the work.
import { AppError } from '../../shared/errors';
import type { jobRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

function notYet(channel: string): never {
  throw new AppError('unsupported', `${channel} is not available in this version yet; use the task's own channel (for example training.start).`);
}

export function jobHandlers(_app: AppContext): DomainHandlers<typeof jobRequests> {
  return {
    'jobs.start': async () => notYet('jobs.start'),
    'jobs.cancel': async () => notYet('jobs.cancel'),
    'jobs.list': async () => notYet('jobs.list'),
    'jobs.get': async () => notYet('jobs.get'),
  };
}
