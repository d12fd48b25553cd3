import type { exportRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

// Handlers for the export domain of the contract.
export function exportHandlers(_app: AppContext): DomainHandlers<typeof exportRequests> {
  return {};
}
