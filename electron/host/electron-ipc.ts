// The desktop IPC host: one ipcMain handler carries every contract channel (the payload names the channel, the
// services validate it), and events go back on one channel. It takes ipcMain as a parameter so tests can attach it
// to a stand-in.
import type { Services } from '../services/index';
import type { FrameLike } from '../desktop/window-security';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../desktop/ipc-channels';

/** The sender of an invoke: the WebContents (events go back to it) and the frame that sent it. */
export interface InvokeEventLike {
  readonly sender: { isDestroyed(): boolean; send(channel: string, ...args: unknown[]): void };
  readonly senderFrame: FrameLike | null;
}

/** The parts of Electron's ipcMain the host uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Messages from any frame other than our window's top-level frame, on our own origin, are refused. */
export function attachElectronIpc(
  ipcMain: IpcMainLike,
  services: Services,
  isTrustedFrame: (frame: FrameLike | null) => boolean,
): () => void {
  const windows = new Set<InvokeEventLike['sender']>();
  ipcMain.handle(INVOKE_CHANNEL, async (event, channel: unknown, payload: unknown) => {
    if (!isTrustedFrame(event.senderFrame)) {
      return { ok: false, error: { code: 'unavailable', message: 'Request from an untrusted frame refused' } };
    }
    windows.add(event.sender);
    return services.call(channel, payload);
  });
  const detach = services.app.events.onAny((name, payload) => {
    for (const contents of windows) {
      if (contents.isDestroyed()) windows.delete(contents);
      else contents.send(EVENT_CHANNEL, name, payload);
    }
  });
  return () => {
    detach();
    ipcMain.removeHandler(INVOKE_CHANNEL);
  };
}
