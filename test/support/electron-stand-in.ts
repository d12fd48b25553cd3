// A stand-in for the parts of Electron's API that Pawprint's desktop host uses. Electron's binary cannot run under
// the test runner, so main.ts, the preload and the IPC host are loaded against this module instead: the
// `electron-stand-in-hooks.mjs` loader hook resolves the specifier 'electron' here. It records what the code asks of
// Electron and lets a test drive what Electron would do (emit a navigation, ask a permission, send an IPC message).
import { EventEmitter } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The details object Electron passes to navigation listeners: the URL plus preventDefault. */
export class NavigationEvent {
  defaultPrevented = false;
  readonly isSameDocument = false;
  constructor(readonly url: string, readonly isMainFrame: boolean, readonly frame: StandInFrame | null) {}
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class StandInFrame {
  constructor(public url: string, readonly parent: StandInFrame | null = null) {}
}

type WindowOpenHandler = (details: { url: string; frameName: string; features: string; disposition: string }) => { action: string };

export class StandInWebContents extends EventEmitter {
  readonly mainFrame = new StandInFrame('');
  windowOpenHandler: WindowOpenHandler | null = null;
  readonly sent: unknown[][] = [];
  destroyed = false;

  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }
  async loadURL(url: string): Promise<void> {
    this.mainFrame.url = url;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, ...args]);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }

  /**
   * What Electron does before a navigation, redirect or frame navigation: emit the event (navigate and redirect also
   * pass the URL as a deprecated second argument) and report whether the navigation would go ahead.
   */
  navigate(kind: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', url: string, isMainFrame = true): boolean {
    const frame = isMainFrame ? this.mainFrame : new StandInFrame(url, this.mainFrame);
    const event = new NavigationEvent(url, isMainFrame, frame);
    if (kind === 'will-frame-navigate') this.emit(kind, event);
    else this.emit(kind, event, url, false, isMainFrame);
    return !event.defaultPrevented;
  }

  /** What Electron does for window.open or a target=_blank link: ask the handler, and open nothing when denied. */
  openWindow(url: string): { action: string } {
    if (!this.windowOpenHandler) return { action: 'allow' };
    return this.windowOpenHandler({ url, frameName: '', features: '', disposition: 'new-window' });
  }

  /** Electron's will-attach-webview: true when a <webview> would be attached. */
  attachWebview(src: string): boolean {
    const event = new NavigationEvent(src, false, null);
    const webPreferences: Record<string, unknown> = {};
    this.emit('will-attach-webview', event, webPreferences, { src });
    return !event.defaultPrevented;
  }
}

class StandInApp extends EventEmitter {
  name = 'Electron';
  quitCalls = 0;
  hasLock = true;
  private readyResolve: (() => void) | null = null;
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.readyResolve = resolve;
  });

  requestSingleInstanceLock(): boolean {
    return this.hasLock;
  }
  setName(name: string): void {
    this.name = name;
  }
  whenReady(): Promise<void> {
    return this.readyPromise;
  }
  quit(): void {
    this.quitCalls++;
  }
  /** The test decides when the app becomes ready (after it has looked at what main.ts did before that). */
  becomeReady(): void {
    this.readyResolve?.();
  }
}

export const app = new StandInApp();

export class BrowserWindow extends EventEmitter {
  static readonly created: BrowserWindow[] = [];
  readonly webContents = new StandInWebContents();
  shown = false;
  constructor(readonly options: { webPreferences?: Record<string, unknown> } & Record<string, unknown>) {
    super();
    BrowserWindow.created.push(this);
    // Electron announces every new WebContents, a window's included.
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadURL(url: string): Promise<void> {
    return this.webContents.loadURL(url);
  }
  show(): void {
    this.shown = true;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
}

type PermissionRequestHandler = (contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void;
type PermissionCheckHandler = (contents: unknown, permission: string, origin: string, details: unknown) => boolean;
type DevicePermissionHandler = (details: unknown) => boolean;

export class StandInSession {
  permissionRequestHandler: PermissionRequestHandler | null = null;
  permissionCheckHandler: PermissionCheckHandler | null = null;
  devicePermissionHandler: DevicePermissionHandler | null = null;

  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void {
    this.permissionCheckHandler = handler;
  }
  setDevicePermissionHandler(handler: DevicePermissionHandler | null): void {
    this.devicePermissionHandler = handler;
  }

  /** Electron grants a request when no handler is set; otherwise the handler's callback decides. */
  async requestPermission(permission: string, origin = 'pawprint-app://app'): Promise<boolean> {
    const handler = this.permissionRequestHandler;
    if (!handler) return true;
    return new Promise((resolve) => handler(null, permission, resolve, { requestingUrl: `${origin}/` }));
  }
  /** Electron answers permission checks (e.g. navigator.permissions.query) with true when no handler is set. */
  checkPermission(permission: string, origin = 'pawprint-app://app'): boolean {
    return this.permissionCheckHandler ? this.permissionCheckHandler(null, permission, origin, {}) : true;
  }
}

export const session = { defaultSession: new StandInSession() };

type ProtocolHandler = (request: Request) => Response | Promise<Response>;

export class StandInProtocol {
  readonly privileged: Array<{ scheme: string; privileges?: Record<string, boolean> }> = [];
  readonly handlers = new Map<string, ProtocolHandler>();

  registerSchemesAsPrivileged(schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>): void {
    this.privileged.push(...schemes);
  }
  handle(scheme: string, handler: ProtocolHandler): void {
    this.handlers.set(scheme, handler);
  }
  /** A request the renderer makes to a custom scheme, answered by the registered handler. */
  async request(url: string): Promise<Response> {
    const scheme = new URL(url).protocol.slice(0, -1);
    const handler = this.handlers.get(scheme);
    if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME (${scheme})`);
    return handler(new Request(url));
  }
}

export const protocol = new StandInProtocol();

/** Electron's net.fetch for file:// URLs: the file's bytes, a listing for a folder, a rejection when missing. */
export const net = {
  async fetch(url: string): Promise<Response> {
    const path = fileURLToPath(url);
    const stats = await stat(path).catch(() => null);
    if (!stats) throw new Error(`net::ERR_FILE_NOT_FOUND (${url})`);
    if (stats.isDirectory()) {
      return new Response(`<ul>${(await readdir(path)).map((name) => `<li>${name}</li>`).join('')}</ul>`, {
        headers: { 'content-type': 'text/html' },
      });
    }
    return new Response(await readFile(path));
  },
};

export const shell = {
  opened: [] as string[],
  async openExternal(url: string): Promise<void> {
    shell.opened.push(url);
  },
};

export interface MessageBoxCall {
  window: unknown;
  options: { message?: string; detail?: string; buttons?: string[]; cancelId?: number; defaultId?: number; type?: string };
}

export const dialog = {
  messageBoxes: [] as MessageBoxCall[],
  errorBoxes: [] as Array<[string, string]>,
  /** The button index the next message boxes answer with (the user's click). */
  nextResponse: 1,
  async showMessageBox(windowOrOptions: unknown, maybeOptions?: MessageBoxCall['options']): Promise<{ response: number; checkboxChecked: boolean }> {
    const call = maybeOptions === undefined
      ? { window: null, options: windowOrOptions as MessageBoxCall['options'] }
      : { window: windowOrOptions, options: maybeOptions };
    dialog.messageBoxes.push(call);
    return { response: dialog.nextResponse, checkboxChecked: false };
  },
  async showOpenDialog(): Promise<{ canceled: boolean; filePaths: string[] }> {
    return { canceled: true, filePaths: [] };
  },
  showErrorBox(title: string, content: string): void {
    dialog.errorBoxes.push([title, content]);
  },
};

export const Menu = {
  applicationMenu: 'default' as unknown,
  setApplicationMenu(menu: unknown): void {
    Menu.applicationMenu = menu;
  },
};

type InvokeListener = (event: { sender: StandInWebContents; senderFrame: StandInFrame | null }, ...args: unknown[]) => unknown;

export class StandInIpcMain {
  readonly handlers = new Map<string, InvokeListener>();
  handle(channel: string, listener: InvokeListener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What ipcRenderer.invoke does from the given frame: no handler is an error, as in Electron. */
  async invoke(channel: string, from: { sender: StandInWebContents; senderFrame: StandInFrame | null }, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    return handler(from, ...args);
  }
}

export const ipcMain = new StandInIpcMain();

type RendererListener = (event: unknown, ...args: unknown[]) => void;

/** The preload's side: records what it sends and lets a test push main-to-renderer messages. */
export class StandInIpcRenderer {
  readonly listeners = new Map<string, RendererListener[]>();
  readonly invoked: unknown[][] = [];
  answer: (channel: string, ...args: unknown[]) => unknown = () => undefined;

  on(channel: string, listener: RendererListener): this {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
    return this;
  }
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push([channel, ...args]);
    return this.answer(channel, ...args);
  }
  /** A message from the main process, as webContents.send delivers it. */
  deliver(channel: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(channel) ?? []) listener({}, ...args);
  }
}

export const ipcRenderer = new StandInIpcRenderer();

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown): void {
    contextBridge.exposed.set(key, api);
  },
};

export interface UtilityForkCall {
  modulePath: string;
  args: string[];
  options: Record<string, unknown>;
}

/** utilityProcess.fork: records what was started and hands back a child that has "spawned" and can be killed. */
export const utilityProcess = {
  forked: [] as UtilityForkCall[],
  fork(modulePath: string, args: string[] = [], options: Record<string, unknown> = {}) {
    utilityProcess.forked.push({ modulePath, args, options });
    const child = Object.assign(new EventEmitter(), {
      pid: 4242 as number | undefined,
      stdout: null,
      stderr: null,
      postMessage(_message: unknown): void {},
      kill(): boolean {
        child.emit('exit', 0);
        return true;
      },
    });
    return child;
  },
};
