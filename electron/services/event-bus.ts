import { parseEvent } from '../../shared/contract/validate';
import type { EventName, EventPayload } from '../../shared/contract/index';

export type AnyEventListener = (name: EventName, payload: unknown) => void;

/** Pushes from services to whichever hosts are attached; every payload is validated against the contract first. */
export class EventBus {
  private readonly listeners = new Set<AnyEventListener>();

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    const checked = parseEvent(name, payload);
    for (const listener of this.listeners) listener(name, checked);
  }

  onAny(listener: AnyEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
