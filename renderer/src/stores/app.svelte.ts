import { transport } from '../lib/transport';
import type { DirectoryListing, SystemInfo } from '../../../shared/contract/index';

export const views = [
  { id: 'dataset', title: 'Dataset' },
  { id: 'label', title: 'Label' },
  { id: 'health', title: 'Health' },
  { id: 'augment', title: 'Augment' },
  { id: 'train', title: 'Train' },
  { id: 'runs', title: 'Runs' },
  { id: 'evaluate', title: 'Evaluate' },
  { id: 'export', title: 'Export' },
] as const;
export type ViewId = (typeof views)[number]['id'];

const LAST_FOLDER_KEY = 'pawprint.lastFolder';

function storedFolder(): string | null {
  try {
    return window.localStorage?.getItem(LAST_FOLDER_KEY) ?? null;
  } catch {
    return null; // storage refused (private mode, sandbox): Browse starts at home
  }
}

function viewFromHash(): ViewId {
  const id = window.location.hash.replace(/^#\/?/, '').split('/')[0];
  return views.some((view) => view.id === id) ? (id as ViewId) : 'dataset';
}

/** Application-wide state: current view, host and backend info, connection state, the last error shown to the user. */
class AppStore {
  view = $state<ViewId>(viewFromHash());
  info = $state<SystemInfo | null>(null);
  connection = $state(transport.state);
  error = $state<string | null>(null);
  /** The folder a Browse last opened or chose (kept across reloads): the next Browse starts there. */
  lastFolder = $state<string | null>(storedFolder());

  constructor() {
    window.addEventListener('hashchange', () => {
      this.view = viewFromHash();
    });
    transport.onStateChange((state) => {
      this.connection = state;
      if (state === 'open') void this.refresh();
    });
    transport.subscribe('system.backendChanged', (backend) => {
      if (this.info) this.info = { ...this.info, backend };
    });
    void this.refresh();
  }

  navigate(view: ViewId): void {
    window.location.hash = `#/${view}`;
  }

  async refresh(): Promise<void> {
    try {
      this.info = await transport.invoke('system.info', {});
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * Lists a folder for Browse (Dataset import, Train's base): the one asked for, else the last folder browsed, else
   * the home folder. A start folder that is gone falls back quietly; a folder the user opened that fails is reported.
   */
  async browse(path?: string, options: { start?: boolean; isCurrent?: () => boolean } = {}): Promise<DirectoryListing | null> {
    const tries: Array<string | undefined> = options.start ? [...new Set([path, this.lastFolder ?? undefined].filter((p) => p)), undefined] : [path];
    const current = options.isCurrent ?? (() => true);
    for (const [index, candidate] of tries.entries()) {
      try {
        const listing = await transport.invoke('system.listDirectory', candidate ? { path: candidate } : {});
        if (!current()) return null;
        this.rememberFolder(listing.path);
        return listing;
      } catch (error) {
        if (!current()) return null;
        if (index === tries.length - 1) this.report(error);
      }
    }
    return null;
  }

  /**
   * One Browse panel's listings: browse, except that an answer overtaken by the panel's later request is dropped
   * (null), neither shown nor remembered. A slow opening listing could otherwise replace the folder the user opened
   * since (an e2e run under load saw the typed folder above another folder's empty listing).
   */
  folderBrowser(): (path?: string, options?: { start?: boolean }) => Promise<DirectoryListing | null> {
    let latest = 0;
    return (path, options = {}) => {
      const request = ++latest;
      return this.browse(path, { ...options, isCurrent: () => request === latest });
    };
  }

  rememberFolder(path: string): void {
    this.lastFolder = path;
    try {
      window.localStorage?.setItem(LAST_FOLDER_KEY, path);
    } catch {
      // not kept across reloads: still remembered for this page
    }
  }

  report(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
  }

  dismissError(): void {
    this.error = null;
  }
}

export const appStore = new AppStore();
export const mediaUrl = (kind: string, id: string | number): string => transport.mediaUrl(kind, id);
