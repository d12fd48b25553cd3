import type { trainingRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

// Handlers for the training domain of the contract.
export function trainingHandlers(_app: AppContext): DomainHandlers<typeof trainingRequests> {
  return {};
}
