import { ipcMain } from 'electron';
import type { IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import type { Services } from '../services/index';

export const INVOKE_CHANNEL = 'pawprint:invoke';
export const EVENT_CHANNEL = 'pawprint:event';

/**
 * One ipcMain handler carries every contract channel: the payload names the channel, the services validate it.
 * Messages from any frame other than our window's top-level frame, on our own origin, are refused.
 */
export function attachElectronIpc(services: Services, isTrustedFrame: (frame: WebFrameMain | null) => boolean): () => void {
  const windows = new Set<WebContents>();
  ipcMain.handle(INVOKE_CHANNEL, async (event: IpcMainInvokeEvent, channel: unknown, payload: unknown) => {
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
