import { transport } from '../lib/transport';
import type { SystemInfo } from '../../../shared/contract/index';

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

  report(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
  }

  dismissError(): void {
    this.error = null;
  }
}

export const appStore = new AppStore();
export const mediaUrl = (kind: string, id: string | number): string => transport.mediaUrl(kind, id);
