// Loads the real desktop entry (electron/main.ts) against the Electron stand-in and checks the security settings it
// applies: window options, CSP, navigation/redirect/frame guards, window.open, external links, permissions, the
// custom protocol's containment and the IPC sender checks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { join } from 'node:path';
import { tempDir } from '../../support/temp';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, StandInFrame } from '../../support/electron-stand-in';

const dir = tempDir('pawprint-desktop-');
let window: BrowserWindow;

async function settle(condition: () => boolean, what = 'main.ts to finish starting'): Promise<void> {
  // A deadline, not a count of short sleeps: on a loaded CI machine opening and migrating the catalogue takes a while.
  const deadline = Date.now() + 15_000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

before(async () => {
  process.argv.push('--db', join(dir.path, 'catalogue.db'));
  register('../../support/electron-stand-in-hooks.mjs', import.meta.url);
  await import('../../../electron/main');
  app.becomeReady();
  await settle(() => BrowserWindow.created.length === 1 && ipcMain.handlers.size > 0);
  window = BrowserWindow.created[0]!;
});

after(async () => {
  app.emit('window-all-closed');
  await settle(() => app.quitCalls > 0, 'app.quit');
  dir.cleanup();
});

describe('window', () => {
  test('isolated, sandboxed, no Node integration, web security on, preload from the bundle', () => {
    const prefs = window.options.webPreferences ?? {};
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.notEqual(prefs.webSecurity, false);
    assert.notEqual(prefs.allowRunningInsecureContent, true);
    assert.notEqual(prefs.webviewTag, true);
    assert.match(String(prefs.preload), /preload\.cjs$/);
    assert.equal(window.webContents.mainFrame.url, 'pawprint-app://app/index.html');
  });

  test('no application menu; the app name is Pawprint; the schemes are standard and secure', () => {
    assert.equal(Menu.applicationMenu, null);
    assert.equal(app.name, 'Pawprint');
    const schemes = Object.fromEntries(protocol.privileged.map((entry) => [entry.scheme, entry.privileges ?? {}]));
    assert.equal(schemes['pawprint-app']?.secure, true);
    assert.equal(schemes['pawprint-media']?.secure, true);
    assert.notEqual(schemes['pawprint-app']?.bypassCSP, true);
  });
});

describe('navigation', () => {
  const contents = () => window.webContents;

  test('will-navigate: the app origin is allowed, anything else is prevented', () => {
    assert.equal(contents().navigate('will-navigate', 'pawprint-app://app/index.html#/runs'), true);
    assert.equal(contents().navigate('will-navigate', 'https://evil.example/'), false);
    assert.equal(contents().navigate('will-navigate', 'file:///etc/passwd'), false);
    assert.equal(contents().navigate('will-navigate', 'pawprint-app://app.evil.example/'), false);
    assert.equal(contents().navigate('will-navigate', 'pawprint-media://media/image/1'), false);
  });

  test('will-redirect: a redirect away from the app origin is prevented', () => {
    assert.equal(contents().navigate('will-redirect', 'https://evil.example/'), false);
    assert.equal(contents().navigate('will-redirect', 'pawprint-app://app/index.html'), true);
  });

  test('will-frame-navigate: no frame, top-level or sub-frame, navigates away from the app origin', () => {
    assert.equal(contents().navigate('will-frame-navigate', 'https://evil.example/'), false);
    assert.equal(contents().navigate('will-frame-navigate', 'https://evil.example/', false), false);
    assert.equal(contents().navigate('will-frame-navigate', 'data:text/html,<script>1</script>', false), false);
    assert.equal(contents().navigate('will-frame-navigate', 'pawprint-app://app/index.html'), true);
  });

  test('a <webview> is never attached', () => {
    assert.equal(contents().attachWebview('https://evil.example/'), false);
  });
});

describe('new windows and external links', () => {
  test('window.open is always denied; an https link opens in the browser only after the user agrees', async () => {
    dialog.messageBoxes.length = 0;
    shell.opened.length = 0;
    dialog.nextResponse = 1; // the user clicks Cancel
    assert.deepEqual(window.webContents.openWindow('https://example.org/docs'), { action: 'deny' });
    await settle(() => dialog.messageBoxes.length === 1, 'the confirmation dialog');
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(shell.opened, [], 'declined: nothing opened');
    const box = dialog.messageBoxes[0]!;
    assert.match(`${box.options.message} ${box.options.detail}`, /https:\/\/example\.org\/docs/);
    assert.equal(box.options.cancelId, box.options.defaultId, 'Enter or Escape cancels');

    dialog.nextResponse = 0; // the user clicks Open
    assert.deepEqual(window.webContents.openWindow('http://example.org/page'), { action: 'deny' });
    await settle(() => shell.opened.length === 1, 'shell.openExternal');
    assert.deepEqual(shell.opened, ['http://example.org/page']);
  });

  test('other schemes are refused without asking', async () => {
    dialog.messageBoxes.length = 0;
    shell.opened.length = 0;
    dialog.nextResponse = 0;
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'pawprint-app://app/index.html', 'not a url']) {
      assert.deepEqual(window.webContents.openWindow(url), { action: 'deny' }, url);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(dialog.messageBoxes.length, 0);
    assert.deepEqual(shell.opened, []);
  });

  test('system.openExternal over IPC asks first, too', async () => {
    dialog.messageBoxes.length = 0;
    shell.opened.length = 0;
    dialog.nextResponse = 1;
    const envelope = await ipcMain.invoke('pawprint:invoke', trustedSender(), 'system.openExternal', { url: 'https://example.org/' });
    assert.deepEqual(envelope, { ok: true, value: null });
    assert.equal(dialog.messageBoxes.length, 1);
    assert.deepEqual(shell.opened, []);
  });
});

describe('permissions', () => {
  test('every permission request is denied', async () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      assert.equal(await session.defaultSession.requestPermission(permission), false, permission);
    }
  });

  test('every permission check answers false', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'usb']) {
      assert.equal(session.defaultSession.checkPermission(permission), false, permission);
    }
  });
});

describe('pawprint-app protocol', () => {
  test('serves the renderer\'s files with the CSP', async () => {
    const response = await protocol.request('pawprint-app://app/index.html');
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<html/i);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval/);
  });

  test('a traversal, plain or encoded, cannot leave the renderer folder', async () => {
    for (const url of [
      'pawprint-app://app/../package.json',
      'pawprint-app://app/..%2fpackage.json',
      'pawprint-app://app/%2e%2e%2fpackage.json',
      'pawprint-app://app/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      'pawprint-app://app/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      'pawprint-app://app/..%5c..%5cpackage.json',
      'pawprint-app://app/%252e%252e%252fpackage.json',
      'pawprint-app://app/index.html%00.png',
      'pawprint-app://app/%E0%A4%A',
    ]) {
      const response = await protocol.request(url);
      assert.ok(response.status === 404 || response.status === 400, `${url} answered ${response.status}`);
      assert.doesNotMatch(await response.text(), /"name": "pawprint"|root:/, url);
    }
  });

  test('a missing file or a folder is 404, not a rejected request or a listing', async () => {
    assert.equal((await protocol.request('pawprint-app://app/no-such-file.js')).status, 404);
    assert.equal((await protocol.request('pawprint-app://app/src')).status, 404);
    assert.equal((await protocol.request('pawprint-app://app/src/')).status, 404);
  });
});

describe('pawprint-media protocol', () => {
  test('an unknown kind or id is 404', async () => {
    assert.equal((await protocol.request('pawprint-media://media/image/999999')).status, 404);
    assert.equal((await protocol.request('pawprint-media://media/..%2f..%2fetc%2fpasswd')).status, 404);
    assert.equal((await protocol.request('pawprint-media://media/')).status, 404);
  });
});

function trustedSender(): { sender: BrowserWindow['webContents']; senderFrame: StandInFrame } {
  return { sender: window.webContents, senderFrame: window.webContents.mainFrame };
}

describe('IPC', () => {
  test('the app\'s top-level frame gets answers', async () => {
    const envelope = await ipcMain.invoke('pawprint:invoke', trustedSender(), 'system.info', {}) as { ok: boolean; value: { host: string } };
    assert.equal(envelope.ok, true);
    assert.equal(envelope.value.host, 'electron');
  });

  test('a sub-frame, a frame on another origin or no frame is refused', async () => {
    const top = window.webContents.mainFrame;
    for (const senderFrame of [
      new StandInFrame('pawprint-app://app/index.html', top),
      new StandInFrame('https://evil.example/', null),
      new StandInFrame('pawprint-app://app.evil.example/', null),
      new StandInFrame('file:///index.html', null),
      null,
    ]) {
      const envelope = await ipcMain.invoke('pawprint:invoke', { sender: window.webContents, senderFrame }, 'system.info', {}) as { ok: boolean; error?: { code: string } };
      assert.equal(envelope.ok, false, senderFrame?.url ?? 'no frame');
      assert.equal(envelope.error?.code, 'unavailable');
    }
  });

  test('an unknown channel and an invalid payload get the error envelope', async () => {
    assert.deepEqual(
      await ipcMain.invoke('pawprint:invoke', trustedSender(), 'catalogue.runSql', { sql: 'DROP TABLE images' }),
      { ok: false, error: { code: 'unknown-channel', message: 'Unknown request channel: catalogue.runSql' } },
    );
    const invalid = await ipcMain.invoke('pawprint:invoke', trustedSender(), 'system.openExternal', { url: 'file:///etc/passwd' }) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(invalid.ok, false);
    assert.equal(invalid.error.code, 'invalid-payload');
    assert.doesNotMatch(invalid.error.message, /\n\s+at /, 'one line, no stack trace');
  });

  test('only the one invoke channel is handled', async () => {
    assert.deepEqual([...ipcMain.handlers.keys()], ['pawprint:invoke']);
    await assert.rejects(ipcMain.invoke('pawprint:other', trustedSender()), /No handler registered/);
  });

});
