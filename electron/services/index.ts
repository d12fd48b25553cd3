import { readFileSync } from 'node:fs';
import { describeCatalogueError, openDatabase } from '../catalogue/database';
import { resolvePaths } from '../paths';
import type { AppPaths } from '../paths';
import { parseRequest } from '../../shared/contract/validate';
import { toErrorInfo } from '../../shared/errors';
import type { AppError, Envelope } from '../../shared/errors';
import type { Channel, Requests, Result } from '../../shared/contract/index';
import type { AppContext, HostCapabilities } from './context';
import { EventBus } from './event-bus';
import { MediaRegistry } from './media';
import { systemHandlers } from './system';
import { datasetHandlers } from './datasets';
import { trainingHandlers } from './training';
import { runHandlers } from './runs';
import { exportHandlers } from './export';
import { jobHandlers } from './jobs';
import { healthHandlers } from './health';
import { JobRuntime } from '../jobs/runtime';
import type { JobRuntimeOptions } from '../jobs/runtime';
import { WorkerPool } from '../jobs/worker/pool';
import type { DomainHandlers } from './types';

export type ServiceHandlers = DomainHandlers<Requests>;

export interface Services {
  readonly app: AppContext;
  /** Validates the payload, runs the handler, and always answers with an envelope (never throws). */
  call(channel: unknown, payload: unknown): Promise<Envelope<unknown>>;
  /** Typed, throwing access for the CLI and tests (payload still validated). */
  request<C extends Channel>(channel: C, payload: unknown): Promise<Result<C>>;
  /** A catalogue failure (read-only, locked, damaged, full) as one line naming the file; null for other errors. */
  describeError(error: unknown): AppError | null;
  close(): Promise<void>;
}

function readAppVersion(): string {
  for (const candidate of ['../../package.json', '../package.json', './package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pawprint' && pkg.version) return pkg.version;
    } catch {
      // try the next location: the layout differs between sources and the bundled dist/ folder
    }
  }
  return '0.0.0';
}

export interface CreateServicesOptions {
  db?: string;
  paths?: AppPaths;
  /** Open the catalogue read-only (browse it without changing it); writes then fail with one clear line. */
  readonly?: boolean;
  host: HostCapabilities;
  /**
   * Wraps every handler call after its payload was validated: the one seam for instrumentation (tests count calls
   * or hold them to fill a host's budget). Fixed at creation; the handler table itself is not reachable.
   */
  aroundHandler?: (channel: Channel, payload: unknown, next: (payload: unknown) => Promise<unknown>) => Promise<unknown>;
  /** Job runtime settings (tests: progressIntervalMs 0, short pollMs, lanes, an in-process worker). */
  jobs?: Partial<Omit<JobRuntimeOptions, 'db' | 'paths' | 'appVersion' | 'events'>>;
}

export function createServices(options: CreateServicesOptions): Services {
  const paths = options.paths ?? resolvePaths({ db: options.db });
  const db = openDatabase(paths.databasePath, undefined, { readonly: options.readonly });
  const cleanups: Array<() => void | Promise<void>> = [];
  const events = new EventBus();
  const appVersion = readAppVersion();
  const backend: AppContext['backend'] = { active: null, requested: null, fallbackReasons: [], versions: {} };
  const app: AppContext = {
    db,
    paths,
    events,
    host: options.host,
    appVersion,
    backend,
    media: new MediaRegistry(),
    jobs: new JobRuntime({
      db,
      paths,
      appVersion,
      events,
      setBackend: (status) => {
        app.backend = status;
        events.emit('system.backendChanged', status);
      },
      // Worker processes start on a job's first worker task, never before (jobs.workers: undefined runs without any).
      workers: options.jobs?.workers ?? new WorkerPool(),
      ...options.jobs,
    }),
    onClose: (cleanup) => cleanups.push(cleanup),
  };
  const handlers: ServiceHandlers = {
    ...systemHandlers(app),
    ...datasetHandlers(app),
    ...trainingHandlers(app),
    ...runHandlers(app),
    ...exportHandlers(app),
    ...jobHandlers(app),
    ...healthHandlers(app),
  };
  const table = handlers as unknown as Record<string, (payload: unknown) => Promise<unknown>>;

  async function request<C extends Channel>(channel: C, payload: unknown): Promise<Result<C>> {
    const parsed = parseRequest(channel, payload);
    const handler = table[parsed.channel];
    if (!handler) throw new Error(`No handler for ${parsed.channel}`);
    try {
      const around = options.aroundHandler;
      return (await (around ? around(parsed.channel, parsed.payload, handler) : handler(parsed.payload))) as Result<C>;
    } catch (error) {
      // A write to a read-only, locked or damaged catalogue: one line naming the file, not SQLite's bare message.
      throw describeCatalogueError(error, paths.databasePath) ?? error;
    }
  }

  return {
    app,
    request,
    describeError: (error) => describeCatalogueError(error, paths.databasePath),
    async call(channel, payload) {
      try {
        return { ok: true, value: await request(channel as Channel, payload) };
      } catch (error) {
        return { ok: false, error: toErrorInfo(error) };
      }
    },
    async close() {
      // Jobs first: they write their ends to the catalogue and may still use what the other cleanups close.
      await app.jobs.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
      db.close();
    },
  };
}
