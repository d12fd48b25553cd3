// libuv's thread pool runs every fs call, crypto hash and sharp decode of this process (hence the platform layer,
// beside the file helpers); its size is read once, from UV_THREADPOOL_SIZE, when the pool first starts (default 4).
// The importer runs two readers more than the cores (electron/dataset/importer.ts importConcurrency, bounded by this
// size), so on more than 2 cores a pool of 4 caps an import below the machine. Imported first by the entries
// (electron/main.ts, electron/cli/main.ts), so it runs before any other bundled module's body; job workers forked
// later inherit the variable and start their pools with it.
// Node's ESM loader itself reads the entry file on the pool (Node 20: a process whose ESM entry sets the variable on
// its first line still gets 4 threads), so for the entry process's own pool the variable must be set before it
// starts: by the user, or by a CommonJS launcher (see the report of issue 17).
import { availableParallelism } from 'node:os';

/** libuv allows up to 1024; a pool far beyond the cores only adds idle threads' stacks. */
const MAX_POOL = 128;

/** Two threads more than the cores, never fewer than libuv's default 4: one per import reader, each decoding or waiting on a file. */
export function threadPoolSizeFor(cores: number): number {
  return Math.min(MAX_POOL, Math.max(4, Math.floor(cores) + 2));
}

/** The size a UV_THREADPOOL_SIZE value gives libuv, or undefined when libuv would ignore it (unset, not a count). */
function sizeOf(value: string | undefined): number | undefined {
  const size = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : undefined;
}

/** Sets UV_THREADPOOL_SIZE from the core count unless the user set it; returns the size in effect for new processes. */
export function applyThreadPoolSize(env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): number {
  const chosen = sizeOf(env.UV_THREADPOOL_SIZE);
  if (chosen !== undefined) return chosen;
  const size = threadPoolSizeFor(cores);
  env.UV_THREADPOOL_SIZE = String(size);
  return size;
}

/**
 * This process's own pool: the size the variable had when the process started (libuv's 4 when unset), read before
 * applyThreadPoolSize sets it, since a value set here comes after the ESM loader started the pool. What the importer
 * may count on for its readers.
 */
export const ownThreadPoolSize: number = sizeOf(process.env.UV_THREADPOOL_SIZE) ?? 4;

applyThreadPoolSize();
