// The transport is picked once at start: the Electron preload bridge when present, else the browser host's WebSocket.
// Only stores import this module; components read stores.
import { AppError, isErrorCode, unwrapEnvelope } from '../../../shared/errors';
import type { Envelope } from '../../../shared/errors';
import type { Channel, EventName, EventPayload, PawprintApi, PayloadIn, Result } from '../../../shared/contract/index';

interface ElectronBridge {
  invoke(channel: string, payload: unknown): Promise<Envelope<unknown>>;
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
  mediaBase: string;
}

declare global {
  interface Window {
    pawprintBridge?: ElectronBridge;
  }
}

export interface Transport extends PawprintApi {
  kind: 'electron' | 'web';
  /** URL of an image or thumbnail by catalogue id, served by the host (never a file path). */
  mediaUrl(kind: string, id: string | number): string;
  /** 'open' | 'connecting' | 'closed'; the web transport reconnects by itself. */
  readonly state: string;
  onStateChange(listener: (state: string) => void): () => void;
}

type Listener = (payload: unknown) => void;

function rebuildError(envelope: Envelope<unknown>): unknown {
  if (!envelope.ok && !isErrorCode(envelope.error.code)) return new AppError('internal', envelope.error.message);
  return unwrapEnvelope(envelope);
}

function electronTransport(bridge: ElectronBridge): Transport {
  return {
    kind: 'electron',
    state: 'open',
    onStateChange: () => () => undefined,
    async invoke<C extends Channel>(channel: C, payload: PayloadIn<C>): Promise<Result<C>> {
      return rebuildError(await bridge.invoke(channel, payload)) as Result<C>;
    },
    subscribe<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      return bridge.subscribe(event, listener as Listener);
    },
    mediaUrl: (kind, id) => `${bridge.mediaBase}${kind}/${id}`,
  };
}

function webTransport(): Transport {
  let socket: WebSocket | null = null;
  let state = 'connecting';
  let nextId = 1;
  let retryDelay = 250;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void; message: string }>();
  const listeners = new Map<string, Set<Listener>>();
  const stateListeners = new Set<(state: string) => void>();
  const queue: string[] = [];

  function setState(next: string): void {
    state = next;
    for (const listener of stateListeners) listener(next);
  }

  function connect(): void {
    const url = new URL('contract', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    const ws = new WebSocket(url);
    socket = ws;
    setState('connecting');
    ws.onopen = () => {
      retryDelay = 250;
      setState('open');
      for (const message of queue.splice(0)) ws.send(message);
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number | null; result?: Envelope<unknown>; event?: string; payload?: unknown };
      if (message.event !== undefined) {
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
    };
    ws.onclose = () => {
      socket = null;
      setState('closed');
      // Requests in flight on a dropped socket cannot be answered; fail them so the UI can say so.
      for (const [id, waiter] of pending) {
        pending.delete(id);
        waiter.reject(new AppError('unavailable', 'Lost the connection to Pawprint; retrying.'));
      }
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 5000);
    };
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
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(message);
        else queue.push(message);
      });
    },
    subscribe<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      const set = listeners.get(event) ?? new Set<Listener>();
      set.add(listener as Listener);
      listeners.set(event, set);
      return () => set.delete(listener as Listener);
    },
    mediaUrl: (kind, id) => new URL(`media/${kind}/${id}`, window.location.href).pathname,
  };
}

export const transport: Transport = window.pawprintBridge ? electronTransport(window.pawprintBridge) : webTransport();
