import type { Database } from '../catalogue/database';
import type { AppPaths } from '../paths';
import type { EventBus } from './event-bus';
import type { BackendStatus } from '../../shared/contract/index';
import type { MediaRegistry } from './media';
import type { JobRuntime } from '../jobs/runtime';

/** What only a particular host can do (native dialogs on the desktop). */
export interface HostCapabilities {
  kind: 'electron' | 'web';
  pickFolder?: (title?: string) => Promise<string | null>;
  openExternal?: (url: string) => Promise<void>;
  /** Reveals a file the services wrote in the system's file manager (desktop: shell.showItemInFolder). */
  showItemInFolder?: (path: string) => void;
}

/** Everything a service needs; built once per process and shared by the handlers of every domain. */
export interface AppContext {
  db: Database;
  paths: AppPaths;
  events: EventBus;
  host: HostCapabilities;
  appVersion: string;
  backend: BackendStatus;
  media: MediaRegistry;
  /** Every long task (import, download, train, ...) runs as a job of this runtime. */
  jobs: JobRuntime;
  /** Called on shutdown, in reverse order of registration (cancel workers, close files). */
  onClose(cleanup: () => void | Promise<void>): void;
}
