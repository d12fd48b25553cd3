// The on-disk decode cache's size (issue 17): training keeps each image's decoded pixels at each training size in
// <cache>/decoded (a 160 px entry is 77 KB: 7.7 GB at 100,000 photos), and nothing removed them. Entries are bounded
// by a cap (PAWPRINT_DECODE_CACHE_GB, else a share of the disk), least recently used first: a run marks the entries
// it uses by their modification time. Entries of images no longer in the catalogue, of an older pixel rule (never
// read again) and temporary files a crash left behind go too. Removing an entry is always safe: a batch that finds
// its entry gone decodes the source again.
import { readdir, stat, statfs, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PIXEL_RULE_VERSION } from '../imaging/image-policy';

/** The default cap, unless the disk is small: then a share of it (decodeCacheLimit). */
export const DEFAULT_DECODE_CACHE_BYTES = 4 * 1024 ** 3;

/** Environment setting: the cap in GB (decimal fractions allowed; 0 keeps only what the running training uses). */
export const DECODE_CACHE_SETTING = 'PAWPRINT_DECODE_CACHE_GB';

/** `<sha256>-<w>x<h>-p<rule>.rgb`, as data-pipeline.ts decodeCachePath names them. */
const ENTRY = /^([0-9a-f]{64})-\d+x\d+-p(\d+)\.rgb$/;
/** A temporary file older than this is a crash's leftover, not a write in progress. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/**
 * The cap for the cache in `dir`: the PAWPRINT_DECODE_CACHE_GB setting when set; otherwise 4 GB, but never more
 * than half of what the cache could occupy (free space plus what it holds now), and at least a quarter of it.
 */
export async function decodeCacheLimit(dir: string, env: NodeJS.ProcessEnv = process.env, held?: number): Promise<number> {
  const setting = env[DECODE_CACHE_SETTING];
  if (setting !== undefined && setting.trim() !== '') {
    const gigabytes = Number(setting);
    if (!Number.isFinite(gigabytes) || gigabytes < 0) {
      throw new Error(`${DECODE_CACHE_SETTING} must be a number of gigabytes, 0 or more (got "${setting}"); fix or unset it`);
    }
    return Math.floor(gigabytes * 1e9);
  }
  let free: number;
  try {
    const disk = await statfs(dir);
    free = disk.bavail * disk.bsize;
  } catch {
    return DEFAULT_DECODE_CACHE_BYTES; // the folder is not there yet: nothing to bound
  }
  return decodeCacheLimitFor(free, held ?? (await cacheBytes(dir)));
}

/** The default cap for a disk with `free` bytes free while the cache holds `held`: 4 GB within a quarter to a half of the room. */
export function decodeCacheLimitFor(free: number, held: number): number {
  const room = free + held;
  return Math.floor(Math.min(room / 2, Math.max(DEFAULT_DECODE_CACHE_BYTES, room / 4)));
}

async function cacheBytes(dir: string): Promise<number> {
  return (await listEntries(dir)).reduce((sum, entry) => sum + entry.bytes, 0);
}

interface Entry {
  name: string;
  contentHash: string | null;
  rule: number | null;
  bytes: number;
  usedMs: number;
}

async function listEntries(dir: string): Promise<Entry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const entries: Entry[] = [];
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (!info?.isFile()) continue;
    const match = ENTRY.exec(name);
    entries.push({ name, contentHash: match?.[1] ?? null, rule: match ? Number(match[2]) : null, bytes: info.size, usedMs: info.mtimeMs });
  }
  return entries;
}

/** Marks an entry used now, so the least-recently-used order keeps it longest. A failure costs only that order. */
export async function touchDecodeCacheEntry(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

export interface PruneOptions {
  /** The cap, in bytes; by default decodeCacheLimit's (the setting, or a share of the disk). */
  maxBytes?: number;
  /** Content hashes a running job is using: never removed, though they count towards the cap. */
  protect?: ReadonlySet<string>;
  /** Whether an image with this content hash is still in the catalogue; entries of other hashes go. */
  isLive?: (contentHash: string) => boolean;
  now?: number;
}

export interface PruneOutcome {
  /** Entries and bytes kept. */
  entries: number;
  bytes: number;
  removed: number;
  freedBytes: number;
}

/**
 * Brings the decode cache in `dir` within `maxBytes`: first whatever can never be read again (other pixel rules,
 * stale temporary files, images no longer in the catalogue), then the least recently used entries until the rest
 * fit. Protected entries stay even past the cap. A file another process removed first is skipped.
 */
export async function pruneDecodeCache(dir: string, options: PruneOptions): Promise<PruneOutcome> {
  const now = options.now ?? Date.now();
  const entries = await listEntries(dir);
  const kept: Entry[] = [];
  let removed = 0;
  let freedBytes = 0;
  const remove = async (entry: Entry) => {
    try {
      await unlink(join(dir, entry.name));
      removed++;
      freedBytes += entry.bytes;
    } catch {
      // gone already (another process pruned or renamed it): nothing to free
    }
  };
  for (const entry of entries) {
    const protectedEntry = entry.contentHash !== null && options.protect?.has(entry.contentHash) === true;
    if (protectedEntry && entry.rule === PIXEL_RULE_VERSION) kept.push(entry);
    else if (entry.contentHash === null) {
      if (entry.name.endsWith('.tmp') && now - entry.usedMs > STALE_TEMPORARY_MS) await remove(entry);
      else if (!entry.name.endsWith('.tmp')) kept.push(entry); // not ours: left alone, but it takes room
    } else if (entry.rule !== PIXEL_RULE_VERSION || (options.isLive && !options.isLive(entry.contentHash))) await remove(entry);
    else kept.push(entry);
  }
  let bytes = kept.reduce((sum, entry) => sum + entry.bytes, 0);
  const maxBytes = options.maxBytes ?? (await decodeCacheLimit(dir, process.env, bytes));
  const evictable = kept
    .filter((entry) => entry.contentHash !== null && !options.protect?.has(entry.contentHash))
    .sort((a, b) => a.usedMs - b.usedMs || (a.name < b.name ? -1 : 1));
  const gone = new Set<Entry>();
  for (const entry of evictable) {
    if (bytes <= maxBytes) break;
    await remove(entry);
    gone.add(entry);
    bytes -= entry.bytes;
  }
  return { entries: kept.length - gone.size, bytes, removed, freedBytes };
}
