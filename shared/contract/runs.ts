import { defineEvents, defineRequests } from './define';

// Filled in by the runs/evaluation issue.
export const runRequests = defineRequests({});
export const runEvents = defineEvents({});
