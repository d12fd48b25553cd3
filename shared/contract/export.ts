import { defineEvents, defineRequests } from './define';

// Filled in by the export issue.
export const exportRequests = defineRequests({});
export const exportEvents = defineEvents({});
