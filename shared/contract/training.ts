import { defineEvents, defineRequests } from './define';

// Filled in by the training issue.
export const trainingRequests = defineRequests({});
export const trainingEvents = defineEvents({});
