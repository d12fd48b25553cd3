import { z } from 'zod';
import { defineEvents, defineRequests } from './define';

export const BackendStatus = z.object({
  /** tf.getBackend() of the training process the last time it started, or null before any run. */
  active: z.string().nullable(),
  requested: z.string().nullable(),
  fallbackReasons: z.array(z.string()),
  versions: z.record(z.string(), z.string()),
});
export type BackendStatus = z.infer<typeof BackendStatus>;

export const SystemInfo = z.object({
  appVersion: z.string(),
  host: z.enum(['electron', 'web']),
  databasePath: z.string(),
  dataDirectory: z.string(),
  /** The desktop host can open native folder and file dialogs; the browser host browses folders on the server instead. */
  nativeDialogs: z.boolean(),
  backend: BackendStatus,
});
export type SystemInfo = z.infer<typeof SystemInfo>;

export const DirectoryEntry = z.object({
  name: z.string(),
  path: z.string(),
  isDirectory: z.boolean(),
  /** Folders only: the photos directly inside (by extension; counting stops at 10,000), so Browse shows where they are. */
  images: z.number().int().optional(),
  /** Folders only, instead of `images`: why the folder could not be counted ("cannot be read: permission denied"). */
  imagesUnknown: z.string().optional(),
});
export const DirectoryListing = z.object({
  path: z.string(),
  parent: z.string().nullable(),
  entries: z.array(DirectoryEntry),
});
export type DirectoryListing = z.infer<typeof DirectoryListing>;

export const systemRequests = defineRequests({
  'system.info': { payload: z.object({}), result: SystemInfo },
  /** Server-side folder browser for the browser host (and a fallback on desktop). */
  'system.listDirectory': {
    payload: z.object({ path: z.string().min(1).optional() }),
    result: DirectoryListing,
  },
  /** Native folder picker; only the desktop host offers it (the result is null when cancelled). */
  'system.pickFolder': { payload: z.object({ title: z.string().optional() }), result: z.string().nullable() },
  'system.openExternal': { payload: z.object({ url: z.url({ protocol: /^https?$/ }) }), result: z.null() },
  /**
   * Desktop only: shows a file the services wrote (an export, a label CSV) in the system's file manager. It names the
   * file by the download id its answer carried, never by a path, like the browser host's download route.
   */
  'system.showInFolder': { payload: z.object({ download: z.string().regex(/^d[0-9a-f]{32}$/, 'not a download id') }), result: z.null() },
});

export const systemEvents = defineEvents({
  'system.backendChanged': BackendStatus,
});
