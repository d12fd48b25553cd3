// The browser host's transport: contract requests and events over one WebSocket that reconnects by itself.
// It touches no DOM global: the page URL, the socket and the timer come in as dependencies, so it runs under node
// in tests with a fake socket.
import { AppError, isErrorCode, unwrapEnvelope } from '../../../shared/errors';
import type { Envelope } from '../../../shared/errors';
import type { Channel, EventName, EventPayload, PawprintApi, PayloadIn, Result } from '../../../shared/contract/index';

export interface Transport extends PawprintApi {
  kind: 'electron' | 'web';
  /** URL of an image or thumbnail by catalogue id, served by the host (never a file path). */
  mediaUrl(kind: string, id: string | number): string;
  /** 'open' | 'connecting' | 'closed'; the web transport reconnects by itself. */
  readonly state: string;
  onStateChange(listener: (state: string) => void): () => void;
}

/** Returns an envelope's value or throws it as an AppError (an unknown code becomes 'internal', keeping the message). */
export function rebuildError(envelope: Envelope<unknown>): unknown {
  // Thrown, not returned: a returned Error would reach the caller as a successful result.
  if (!envelope.ok && !isErrorCode(envelope.error.code)) throw new AppError('internal', envelope.error.message);
  return unwrapEnvelope(envelope);
}

export interface SocketHandlers {
  open(): void;
  message(data: unknown): void;
  close(): void;
}

export interface SocketConnection {
  send(data: string): void;
  isOpen(): boolean;
}

export interface WebTransportDeps {
  /** The page's address; the socket (`contract`) and media URLs are relative to it, so the host's path prefix holds. */
  pageUrl(): string;
  openSocket(url: string, handlers: SocketHandlers): SocketConnection;
  schedule(callback: () => void, delayMs: number): void;
}

type Listener = (payload: unknown) => void;
type Waiter = { resolve: (value: unknown) => void; reject: (error: unknown) => void; message: string };

export function createWebTransport(deps: WebTransportDeps): Transport {
  let socket: SocketConnection | null = null;
  let state = 'connecting';
  let nextId = 1;
  let retryDelay = 250;
  const pending = new Map<number, Waiter>();
  const listeners = new Map<string, Set<Listener>>();
  const stateListeners = new Set<(state: string) => void>();
  /** Ids of requests made while no socket was open, in order; sent on the next open if still pending. */
  const queued: number[] = [];

  function setState(next: string): void {
    state = next;
    for (const listener of stateListeners) listener(next);
  }

  function receive(data: unknown): void {
    let message: { id?: unknown; result?: Envelope<unknown>; event?: string; payload?: unknown };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    if (typeof message.event === 'string') {
      for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
      return;
    }
    if (typeof message.id !== 'number' || !message.result) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    try {
      waiter.resolve(rebuildError(message.result));
    } catch (error) {
      waiter.reject(error);
    }
  }

  function connect(): void {
    const url = new URL('contract', deps.pageUrl());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    setState('connecting');
    const connection = deps.openSocket(url.href, {
      open() {
        retryDelay = 250;
        setState('open');
        // Only requests still waiting: one already reported failed must never be sent after all.
        for (const id of queued.splice(0)) {
          const waiter = pending.get(id);
          if (waiter) connection.send(waiter.message);
        }
      },
      message: receive,
      close() {
        if (socket === connection) socket = null;
        setState('closed');
        // Requests in flight or queued cannot be answered by a dropped socket; fail them so the UI can say so, and
        // forget the queue so a reconnect does not send (say) a jobs.cancel the user was told had failed.
        queued.length = 0;
        for (const [id, waiter] of pending) {
          pending.delete(id);
          waiter.reject(new AppError('unavailable', 'Lost the connection to Pawprint; retrying.'));
        }
        deps.schedule(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 5000);
      },
    });
    socket = connection;
  }
  connect();

  return {
    kind: 'web',
    get state() {
      return state;
    },
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    invoke<C extends Channel>(channel: C, payload: PayloadIn<C>): Promise<Result<C>> {
      const id = nextId++;
      const message = JSON.stringify({ id, channel, payload });
      return new Promise<Result<C>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject, message });
        if (socket && socket.isOpen()) socket.send(message);
        else queued.push(id);
      });
    },
    subscribe<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      const set = listeners.get(event) ?? new Set<Listener>();
      set.add(listener as Listener);
      listeners.set(event, set);
      return () => set.delete(listener as Listener);
    },
    mediaUrl: (kind, id) => new URL(`media/${kind}/${id}`, deps.pageUrl()).pathname,
  };
}
