// The desktop IPC host on a stand-in ipcMain, over real services with their own catalogue: sender checks, the error
// envelope, events back to the windows that asked, and detaching.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { attachElectronIpc } from '../../../electron/host/electron-ipc';
import { isTrustedFrame } from '../../../electron/desktop/window-security';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { StandInFrame, StandInIpcMain, StandInWebContents } from '../../support/electron-stand-in';
import { tempDir, tempPaths } from '../../support/temp';

const dir = tempDir('pawprint-ipc-');
const ipcMain = new StandInIpcMain();
const appWindow = new StandInWebContents();
const otherWindow = new StandInWebContents();
let services: Services;
let detach: () => void;
let calls = 0;

function from(contents: StandInWebContents, url: string, parent: StandInFrame | null = null) {
  return { sender: contents, senderFrame: new StandInFrame(url, parent) };
}

before(() => {
  services = createServices({
    paths: tempPaths(dir.path),
    host: { kind: 'electron' },
    // Count calls that reach a service, to prove that refused requests never do.
    aroundHandler: (channel, payload, next) => {
      if (channel === 'system.info') calls++;
      return next(payload);
    },
  });
  detach = attachElectronIpc(ipcMain, services, isTrustedFrame);
});

after(async () => {
  await services.close();
  dir.cleanup();
});

test('the app\'s top-level frame is answered', async () => {
  const envelope = await ipcMain.invoke('pawprint:invoke', from(appWindow, 'pawprint-app://app/index.html#/datasets'), 'system.info', {});
  assert.equal((envelope as { ok: boolean }).ok, true);
  assert.equal(calls, 1);
});

test('other frames and origins are refused before any service runs', async () => {
  calls = 0;
  const top = new StandInFrame('pawprint-app://app/index.html');
  for (const sender of [
    from(appWindow, 'pawprint-app://app/index.html', top),
    from(appWindow, 'https://evil.example/', null),
    from(appWindow, 'https://evil.example/', top),
    from(appWindow, 'pawprint-app://evil/index.html'),
    from(appWindow, 'pawprint-media://media/thumb/1'),
    from(appWindow, 'file:///work/renderer/index.html'),
    { sender: appWindow, senderFrame: null },
  ]) {
    assert.deepEqual(
      await ipcMain.invoke('pawprint:invoke', sender, 'system.info', {}),
      { ok: false, error: { code: 'unavailable', message: 'Request from an untrusted frame refused' } },
      sender.senderFrame?.url ?? 'no frame',
    );
  }
  assert.equal(calls, 0);
});

test('unknown channels and invalid payloads get a one-line error envelope', async () => {
  const trusted = from(appWindow, 'pawprint-app://app/index.html');
  for (const [channel, payload, code] of [
    ['catalogue.exec', {}, 'unknown-channel'],
    [42, {}, 'unknown-channel'],
    ['__proto__', {}, 'unknown-channel'],
    ['system.listDirectory', { path: 7 }, 'invalid-payload'],
    ['system.openExternal', { url: 'javascript:alert(1)' }, 'invalid-payload'],
  ] as const) {
    const envelope = await ipcMain.invoke('pawprint:invoke', trusted, channel, payload) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(envelope.ok, false, String(channel));
    assert.equal(envelope.error.code, code, String(channel));
    assert.doesNotMatch(envelope.error.message, /\n/, 'one line');
  }
});

test('events go to the windows that asked, not to others, and stop for a destroyed window', async () => {
  const event = { active: 'cpu', requested: null, fallbackReasons: [], versions: {} };
  services.app.events.emit('system.backendChanged', event);
  assert.deepEqual(appWindow.sent.at(-1), ['pawprint:event', 'system.backendChanged', event]);
  assert.equal(otherWindow.sent.length, 0);
  appWindow.destroyed = true;
  const before = appWindow.sent.length;
  services.app.events.emit('system.backendChanged', event);
  assert.equal(appWindow.sent.length, before);
});

test('detaching removes the handler', async () => {
  detach();
  assert.equal(ipcMain.handlers.size, 0);
  await assert.rejects(ipcMain.invoke('pawprint:invoke', from(appWindow, 'pawprint-app://app/'), 'system.info', {}), /No handler/);
});
