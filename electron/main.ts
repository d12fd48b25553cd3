// The desktop entry: wires the real `electron` module to the window security settings (electron/desktop/), the
// custom protocols, and the IPC host over the services. The settings themselves live in electron/desktop/ so tests
// can load this file against a stand-in for Electron (test/support/electron-stand-in.ts).
// First: sizes libuv's thread pool from the cores before any other module runs (electron/files/thread-pool-size.ts).
import './files/thread-pool-size';
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session, shell } from 'electron';
import type { MessageBoxOptions } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from './services/index';
import type { Services } from './services/index';
import { attachElectronIpc } from './host/electron-ipc';
import { resolvePaths } from './paths';
import { PRIVILEGED_SCHEMES, registerAppProtocol, registerMediaProtocol } from './desktop/app-protocol';
import {
  APP_ORIGIN,
  denyAllPermissions,
  externalLinkOpener,
  isTrustedFrame,
  secureWebContents,
  secureWebPreferences,
} from './desktop/window-security';

const here = dirname(fileURLToPath(import.meta.url));
const rendererRoot = join(here, '..', 'renderer');

protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);

let services: Services | undefined;
let mainWindow: BrowserWindow | null = null;

/** Every external link, from window.open or system.openExternal, goes through the same confirmation. */
const openExternalLink = externalLinkOpener({
  openExternal: (url) => shell.openExternal(url),
  showMessageBox: (options: MessageBoxOptions) =>
    mainWindow ? dialog.showMessageBox(mainWindow, options) : dialog.showMessageBox(options),
});

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Pawprint',
    show: false,
    webPreferences: secureWebPreferences(join(here, 'preload.cjs')),
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

function dbFromArgs(argv: string[]): string | undefined {
  const index = argv.indexOf('--db');
  return index >= 0 ? argv[index + 1] : undefined;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.setName('Pawprint');
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  // Every WebContents, the main window's and any other, gets the navigation, window-open and webview guards.
  app.on('web-contents-created', (_event, contents) => secureWebContents(contents, openExternalLink));
  app.whenReady().then(() => {
    Menu.setApplicationMenu(null);
    denyAllPermissions(session.defaultSession);
    services = createServices({
      paths: resolvePaths({ db: dbFromArgs(process.argv) }),
      host: {
        kind: 'electron',
        pickFolder: async (title) => {
          const options = { title: title ?? 'Choose a folder', properties: ['openDirectory' as const] };
          const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
          return result.canceled ? null : (result.filePaths[0] ?? null);
        },
        openExternal: async (url) => {
          await openExternalLink(url);
        },
        showItemInFolder: (path) => shell.showItemInFolder(path),
      },
    });
    const media = services.app.media;
    registerAppProtocol(protocol, net, rendererRoot);
    registerMediaProtocol(protocol, net, (kind, id) => media.resolve(kind, id));
    attachElectronIpc(ipcMain, services, isTrustedFrame);
    mainWindow = createWindow();
    mainWindow.on('closed', () => {
      mainWindow = null;
    });
  }).catch((error: unknown) => {
    // E.g. a catalogue written by a newer Pawprint: say why and quit, rather than linger windowless holding the
    // single-instance lock.
    dialog.showErrorBox('Pawprint could not start', error instanceof Error ? error.message : String(error));
    app.quit();
  });
  app.on('window-all-closed', () => {
    void services?.close().finally(() => app.quit());
  });
}
