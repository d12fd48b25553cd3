// The desktop entry: window, security settings, media protocol, and the IPC host wired to the services.
import { app, BrowserWindow, dialog, Menu, net, protocol, session, shell } from 'electron';
import type { WebFrameMain } from 'electron';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServices } from './services/index';
import type { Services } from './services/index';
import { attachElectronIpc } from './host/electron-ipc';
import { resolvePaths } from './paths';

const here = dirname(fileURLToPath(import.meta.url));
const rendererRoot = join(here, '..', 'renderer');
const APP_ORIGIN = 'pawprint-app://app';

protocol.registerSchemesAsPrivileged([
  { scheme: 'pawprint-app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: 'pawprint-media', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: pawprint-media:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

let services: Services | undefined;
let mainWindow: BrowserWindow | null = null;

function isTrustedFrame(frame: WebFrameMain | null): boolean {
  return frame !== null && frame.parent === null && frame.url.startsWith(`${APP_ORIGIN}/`);
}

function isSafeExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Pawprint',
    show: false,
    webPreferences: {
      preload: join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

function registerProtocols(): void {
  // The renderer's own files, from the built folder only.
  protocol.handle('pawprint-app', async (request) => {
    const url = new URL(request.url);
    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    } catch {
      return new Response('Bad request', { status: 400 });
    }
    // Resolve, then check containment: on Windows a decoded %5C is a separator too.
    const file = resolve(rendererRoot, relative);
    if (!file.startsWith(resolve(rendererRoot) + sep)) return new Response('Not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(response.headers);
    headers.set('content-security-policy', CSP);
    return new Response(response.body, { status: response.status, headers });
  });
  // Image bytes and thumbnails by catalogue id: pawprint-media://media/<kind>/<id>.
  protocol.handle('pawprint-media', async (request) => {
    const url = new URL(request.url);
    const [kind, id] = url.pathname.replace(/^\/+/, '').split('/');
    const file = services && kind && id ? await services.app.media.resolve(kind, id) : null;
    if (!file) return new Response('Not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file.path).toString());
    const headers = new Headers(response.headers);
    headers.set('content-type', file.contentType);
    return new Response(response.body, { status: response.status, headers });
  });
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
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.whenReady().then(() => {
    Menu.setApplicationMenu(null);
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
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
          if (isSafeExternalUrl(url)) await shell.openExternal(url);
        },
      },
    });
    registerProtocols();
    attachElectronIpc(services, isTrustedFrame);
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
