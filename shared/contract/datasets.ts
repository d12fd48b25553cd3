import { defineEvents, defineRequests } from './define';

// Filled in by the dataset issue.
export const datasetRequests = defineRequests({});
export const datasetEvents = defineEvents({});
