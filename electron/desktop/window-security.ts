// The desktop window's security settings (Electron's security checklist), as functions that take the few Electron
// objects they touch, so tests can apply them to a stand-in. main.ts calls them with the real `electron` module.
import type { MessageBoxOptions, WebPreferences } from 'electron';

export const APP_SCHEME = 'pawprint-app';
export const MEDIA_SCHEME = 'pawprint-media';
const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** Sent with every pawprint-app response: our own scripts only, no plugins, no framing, no forms. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' data: blob: ${MEDIA_SCHEME}:`,
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * External origins a link may open without asking. None yet: the app itself links nowhere, so every external link
 * (e.g. one in a dataset's README shown by the UI) is confirmed by the user first.
 */
export const EXTERNAL_ALLOW_LIST: readonly string[] = [];

/** True for a URL on the app's own origin (scheme and host both match; a look-alike host does not). */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Only http and https leave the app, and only through the user's browser. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

export interface FrameLike {
  readonly url: string;
  readonly parent: FrameLike | null;
}

/** IPC is answered only for the app's top-level frame on its own origin (no sub-frame, no navigated-away page). */
export function isTrustedFrame(frame: FrameLike | null): boolean {
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

/** The window's webPreferences: isolated, sandboxed, no Node, web security on, no <webview>. */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  };
}

export type ExternalLinkOutcome = 'opened' | 'declined' | 'refused';
export type OpenExternalLink = (url: string) => Promise<ExternalLinkOutcome>;

export interface ExternalLinkDeps {
  openExternal(url: string): Promise<void>;
  /** dialog.showMessageBox, with the app's window as parent when there is one. */
  showMessageBox(options: MessageBoxOptions): Promise<{ response: number }>;
  allowList?: readonly string[];
}

/**
 * Opens an http(s) link in the user's browser: at once for an allow-listed origin, otherwise only after the user
 * agrees in a dialog. Any other scheme (file:, smb:, javascript:, custom handlers) is refused without asking.
 */
export function externalLinkOpener(deps: ExternalLinkDeps): OpenExternalLink {
  const allowList = deps.allowList ?? EXTERNAL_ALLOW_LIST;
  return async (url) => {
    if (!isSafeExternalUrl(url)) return 'refused';
    const { href, origin } = new URL(url);
    if (!allowList.includes(origin)) {
      const OPEN = 0;
      const CANCEL = 1;
      const { response } = await deps.showMessageBox({
        type: 'question',
        title: 'Open link',
        message: 'Open this link in your browser?',
        detail: href,
        buttons: ['Open in browser', 'Cancel'],
        defaultId: CANCEL,
        cancelId: CANCEL,
        noLink: true,
      });
      if (response !== OPEN) return 'declined';
    }
    await deps.openExternal(href);
    return 'opened';
  };
}

interface NavigationDetails {
  readonly url: string;
  preventDefault(): void;
}

/** The parts of WebContents the guards use; one signature per event so Electron's overloads match. */
export interface GuardedContents {
  on(event: 'will-navigate', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-redirect', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-frame-navigate', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/**
 * Keeps a WebContents on the app's origin: navigations, redirects and frame navigations elsewhere are prevented,
 * no <webview> is attached, and window.open never opens a window (http(s) links go to the browser after asking).
 */
export function secureWebContents(contents: GuardedContents, openLink: OpenExternalLink): void {
  const stayOnAppOrigin = (details: NavigationDetails): void => {
    if (!isAppUrl(details.url)) details.preventDefault();
  };
  contents.on('will-navigate', stayOnAppOrigin);
  contents.on('will-redirect', stayOnAppOrigin);
  contents.on('will-frame-navigate', stayOnAppOrigin);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openLink(url).catch(() => undefined);
    return { action: 'deny' };
  });
}

type PermissionRequestHandler = (contents: unknown, permission: string, callback: (granted: boolean) => void) => void;

/** The parts of Session the permission handlers use. */
export interface PermissionedSession {
  setPermissionRequestHandler(handler: PermissionRequestHandler): void;
  setPermissionCheckHandler(handler: () => boolean): void;
  setDevicePermissionHandler(handler: () => boolean): void;
}

/**
 * Pawprint needs no web permission (camera, notifications, geolocation, HID...): requests are denied, and checks
 * (navigator.permissions.query, device access) answer false rather than Electron's default of granted.
 */
export function denyAllPermissions(session: PermissionedSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}
