// The transport is picked once at start: the Electron preload bridge when present, else the browser host's WebSocket.
// Only stores import this module; components read stores.
import type { Envelope } from '../../../shared/errors';
import type { Channel, EventName, EventPayload, PayloadIn, Result } from '../../../shared/contract/index';
import { createWebTransport, rebuildError } from './web-transport';
import type { Transport } from './web-transport';

export type { Transport } from './web-transport';

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

type Listener = (payload: unknown) => void;

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

// The browser host authorises the socket by its cookie (scoped to the page's path prefix) plus the Origin the browser
// sets, so the page needs no token of its own: it opens `contract` relative to its own address.
function browserWebTransport(): Transport {
  return createWebTransport({
    pageUrl: () => window.location.href,
    openSocket(url, handlers) {
      const ws = new WebSocket(url);
      ws.onopen = () => handlers.open();
      ws.onmessage = (event) => handlers.message(event.data);
      ws.onclose = () => handlers.close();
      return { send: (data) => ws.send(data), isOpen: () => ws.readyState === WebSocket.OPEN };
    },
    schedule: (callback, delayMs) => void setTimeout(callback, delayMs),
  });
}

export const transport: Transport = window.pawprintBridge ? electronTransport(window.pawprintBridge) : browserWebTransport();
