import type { z } from 'zod';
import { systemEvents, systemRequests } from './system';
import { datasetEvents, datasetRequests } from './datasets';
import { trainingEvents, trainingRequests } from './training';
import { runEvents, runRequests } from './runs';
import { exportEvents, exportRequests } from './export';
import { jobEvents, jobRequests } from './jobs';
import { healthRequests } from './health';

export * from './define';
export * from './system';
export * from './datasets';
export * from './training';
export * from './runs';
export * from './export';
export * from './jobs';
export * from './health';

/** Every request channel the renderer may call; hosts reject anything else. */
export const requests = {
  ...systemRequests,
  ...datasetRequests,
  ...trainingRequests,
  ...runRequests,
  ...exportRequests,
  ...jobRequests,
  ...healthRequests,
};

/** Every event the main side pushes to the renderer. */
export const events = {
  ...systemEvents,
  ...datasetEvents,
  ...trainingEvents,
  ...runEvents,
  ...exportEvents,
  ...jobEvents,
};

export type Requests = typeof requests;
export type Channel = keyof Requests;
export type Events = typeof events;
export type EventName = keyof Events;

/** What a caller passes (before defaults are applied). */
export type PayloadIn<C extends Channel> = z.input<Requests[C]['payload']>;
/** What a handler receives (after validation and defaults). */
export type Payload<C extends Channel> = z.output<Requests[C]['payload']>;
export type Result<C extends Channel> = z.output<Requests[C]['result']>;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.hasOwn(requests, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(events, name);
}

/** The object the renderer talks to, whichever host serves it (Electron preload or WebSocket). */
export interface PawprintApi {
  invoke<C extends Channel>(channel: C, payload: PayloadIn<C>): Promise<Result<C>>;
  subscribe<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}
