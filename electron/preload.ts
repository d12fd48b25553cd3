// Runs sandboxed: only 'electron' (contextBridge, ipcRenderer) is available, so the bundle may require nothing else
// (the contract's zod schemas stay on the main side, which validates every channel and payload). It exposes one
// object with invoke/subscribe over the two contract channels and nothing else; the raw ipcRenderer never reaches the
// page.
import { contextBridge, ipcRenderer } from 'electron';
import type { IpcRendererEvent } from 'electron';
import type { Envelope } from '../shared/errors';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './desktop/ipc-channels';

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();

ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, name: string, payload: unknown) => {
  for (const listener of listeners.get(name) ?? []) listener(payload);
});

const bridge = {
  /** Returns the envelope; the renderer's transport rebuilds errors from it. */
  invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    return ipcRenderer.invoke(INVOKE_CHANNEL, String(channel), payload) as Promise<Envelope<unknown>>;
  },
  subscribe(event: string, listener: Listener): () => void {
    const set = listeners.get(event) ?? new Set<Listener>();
    set.add(listener);
    listeners.set(event, set);
    return () => set.delete(listener);
  },
  mediaBase: 'pawprint-media://media/',
};

contextBridge.exposeInMainWorld('pawprintBridge', bridge);
