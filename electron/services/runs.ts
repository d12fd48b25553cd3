import type { runRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

// Handlers for the runs domain of the contract.
export function runHandlers(_app: AppContext): DomainHandlers<typeof runRequests> {
  return {};
}
