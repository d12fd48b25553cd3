import type { z } from 'zod';

/** A request channel: the payload is validated at the host boundary; the result schema documents and types the answer. */
export interface RequestSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  payload: P;
  result: R;
}

export type RequestMap = Record<string, RequestSpec>;
export type EventMap = Record<string, z.ZodType>;

export function defineRequests<const M extends RequestMap>(map: M): M {
  return map;
}

export function defineEvents<const M extends EventMap>(map: M): M {
  return map;
}
