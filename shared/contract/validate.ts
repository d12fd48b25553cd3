import type { z } from 'zod';
import { AppError } from '../errors';
import { events, isChannel, isEventName, requests } from './index';
import type { Channel, EventName, EventPayload, Payload } from './index';

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Validates a request at the host boundary; throws AppError so the caller gets { code, message }. */
export function parseRequest(channel: unknown, payload: unknown): { channel: Channel; payload: Payload<Channel> } {
  if (!isChannel(channel)) throw new AppError('unknown-channel', `Unknown request channel: ${String(channel)}`);
  const parsed = requests[channel].payload.safeParse(payload ?? {});
  if (!parsed.success) {
    throw new AppError('invalid-payload', `Invalid payload for ${channel}: ${describeIssues(parsed.error)}`);
  }
  return { channel, payload: parsed.data as Payload<Channel> };
}

/** Validates a pushed event before it leaves the main side, so a bug there never reaches the UI as garbage. */
export function parseEvent<E extends EventName>(name: E, payload: unknown): EventPayload<E> {
  if (!isEventName(name)) throw new AppError('unknown-channel', `Unknown event: ${String(name)}`);
  const parsed = events[name].safeParse(payload);
  if (!parsed.success) throw new AppError('invalid-payload', `Invalid event ${name}: ${describeIssues(parsed.error)}`);
  return parsed.data as EventPayload<E>;
}
