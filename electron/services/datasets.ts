import type { datasetRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

// Handlers for the datasets domain of the contract.
export function datasetHandlers(_app: AppContext): DomainHandlers<typeof datasetRequests> {
  return {};
}
