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

  /** The next event of that name matching `where`; rejects after `timeoutMs` when one is given. */
  next<E extends EventName>(name: E, where: (payload: EventPayload<E>) => boolean = () => true, timeoutMs?: number): Promise<EventPayload<E>> {
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        off();
        reject(new Error(`timed out waiting for ${name}`));
      }, timeoutMs);
      const off = this.onAny((event, payload) => {
        if (event !== name || !where(payload as EventPayload<E>)) return;
        clearTimeout(timer);
        off();
        resolve(payload as EventPayload<E>);
      });
    });
  }
}
