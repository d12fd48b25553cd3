// The models a long-lived inference worker keeps loaded between tasks (Try it predicts several times with one model):
// at most a few, keyed by path, what the caller knows about it, and the files' size and modification time (a model
// rewritten in place loads again). A model in use by a running task is never disposed under it.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedModel } from './loader';

const DEFAULT_CAPACITY = 2;

interface CachedModel {
  key: string;
  loaded: LoadedModel;
  users: number;
}

/** Size and modification time of a model file, or of a model folder's model.json, weights.bin and metadata.json. */
export async function modelFilesStamp(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info) return 'missing';
  if (!info.isDirectory()) return `${info.size}:${info.mtimeMs}`;
  const parts = await Promise.all(['model.json', 'weights.bin', 'metadata.json', 'pawprint.json'].map(async (name) => {
    const file = await stat(join(path, name)).catch(() => null);
    return file ? `${file.size}:${file.mtimeMs}` : '-';
  }));
  return parts.join('|');
}

export class ModelCache {
  private entries: CachedModel[] = [];

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Runs fn with the model for `key`, loading it on a miss; `cached` says whether it was already loaded. */
  async use<T>(key: string, load: () => Promise<LoadedModel>, fn: (loaded: LoadedModel, cached: boolean) => Promise<T>): Promise<T> {
    let entry = this.entries.find((e) => e.key === key);
    const cached = entry !== undefined;
    if (!entry) {
      entry = { key, loaded: await load(), users: 0 };
      this.entries.unshift(entry);
    } else {
      this.entries = [entry, ...this.entries.filter((e) => e !== entry)];
    }
    entry.users++;
    try {
      return await fn(entry.loaded, cached);
    } finally {
      entry.users--;
      this.evict();
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Disposes the least recently used models beyond capacity, skipping any still in use (evicted when it is released). */
  private evict(): void {
    while (this.entries.length > this.capacity) {
      const victim = [...this.entries].reverse().find((e) => e.users === 0);
      if (!victim) return;
      this.entries = this.entries.filter((e) => e !== victim);
      victim.loaded.dispose();
    }
  }

  clear(): void {
    for (const entry of this.entries.filter((e) => e.users === 0)) entry.loaded.dispose();
    this.entries = this.entries.filter((e) => e.users > 0);
  }
}
