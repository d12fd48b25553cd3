import { realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { ImportProgress } from '../../shared/contract/datasets';
import { AppError } from '../../shared/errors';
import type { Database } from '../catalogue/database';
import { finishImportRow, setDatasetLayout, updateImportRow } from '../catalogue/datasets';
import type { ImportCounters } from '../catalogue/datasets';
import { hashOwners, knownImages, markMissing, moveImage, upsertImage } from '../catalogue/images';
import type { ImageRecord, KnownImage } from '../catalogue/images';
import { applyFolderLabel, ensureClass } from '../catalogue/labels';
import { latestSplitId } from '../catalogue/splits';
import { readRegularFile } from '../files/read-regular-file';
import { ownThreadPoolSize } from '../files/thread-pool-size';
import { contentHashOf } from './content';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';
import { detectLayout, folderLabel } from './layout';
import type { Layout } from './layout';
import { createSplit } from './split';
import { probeImage, probeWithThumbnail } from './validate';
import type { ProbeResult } from './validate';
import { storeThumbnail } from './thumbnails';
import type { WalkedFile } from './walk';
import { walkFolder } from './walk';

export interface ImportOptions {
  db: Database;
  datasetId: number;
  importId: number;
  root: string;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Files read and decoded at once (default importConcurrency()); sharp runs each decode on a libuv thread. */
  concurrency?: number;
  /** Files committed per transaction (default DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /** A smaller batch is committed once this long has passed since the last commit (default BATCH_MS). */
  batchMilliseconds?: number;
  /** The thumbnail folder: when given, each decodable file's thumbnail is made from its validating decode. */
  thumbnails?: string;
  /** Test seam: runs after the scan, before any file is read (to change or delete files "during" an import). */
  afterScan?: (files: readonly WalkedFile[]) => Promise<void> | void;
  /** Test seam: runs after each committed batch with the number of files committed so far (to cancel mid-import). */
  afterBatch?: (read: number) => void;
}

export interface ImportOutcome {
  status: 'completed' | 'cancelled' | 'failed';
  counters: ImportCounters;
  layout: Layout;
  error: string | null;
  /** Some image's content left the dataset (went missing, or a file now holds other bytes): caches keyed by it can go. */
  droppedContent: boolean;
}

/** Files per transaction: one commit (a WAL sync) per file or per few files dominated the catalogue's share. */
export const DEFAULT_BATCH_SIZE = 500;
/** A batch is committed after this long even when smaller, so progress and a cancel never wait on a slow folder. */
const BATCH_MS = 1000;

/**
 * Two readers more than the cores, within libuv's thread pool: each file makes about ten thread-pool trips (open,
 * fstat, read, close, stat, header, decode, thumbnail write and rename) besides its decode, so with one spare reader
 * the decodes left cores idle. Measured on 3,000 generated photos, 2 cores at load 14-22: 82-95 photos/s with 3
 * readers, 111-114 with 4, and less CPU per photo.
 */
export function importConcurrency(pool: number = ownThreadPoolSize, cores: number = availableParallelism()): number {
  // The pool this process started with, not UV_THREADPOOL_SIZE as it reads now: the entries set that for the processes
  // they fork, after their own pool had started (electron/files/thread-pool-size.ts).
  return Math.max(2, Math.min(pool, cores + 2));
}

/** Reasons that describe a moment, not the file: such files are read again on the next import. */
const TRANSIENT = /^(changed during import|deleted during import|could not read|not a regular file)/;

const CHANGED = 'changed during import (size or modification time differ before and after reading it): import again';

interface Processed {
  file: WalkedFile;
  record: ImageRecord;
}

function baseRecord(file: WalkedFile, layout: Layout): ImageRecord {
  const folder = folderLabel(file.relPath, layout);
  return {
    relPath: file.relPath,
    contentHash: null,
    byteSize: file.size,
    mtimeMs: file.mtimeMs,
    width: null,
    height: null,
    format: null,
    colorSpace: null,
    channels: null,
    hasAlpha: null,
    orientation: null,
    status: 'rejected',
    reason: null,
    duplicateOf: null,
    folderLabel: folder.label,
    folderSplit: folder.split,
  };
}

/** Words for a failed read. A regular file at scan time that is now a FIFO or device is refused on its open handle. */
function readFailure(error: unknown): string {
  if (error instanceof AppError) {
    // Refused kinds keep their words; a file that grew past the limit or shrank while read changed since the scan.
    return error.message.startsWith('not a regular file') ? error.message : CHANGED;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return CHANGED; // a regular file at scan time is a symbolic link now
  return code === 'ENOENT' ? 'deleted during import' : `could not read the file (${code ?? (error as Error).message})`;
}

/** Reads, hashes and decodes one file. Never throws: every failure becomes a reason. */
async function processFile(
  file: WalkedFile,
  layout: Layout,
  owners: Map<string, number>,
  ownId: number | undefined,
  vanishedOwners: ReadonlySet<number>,
  thumbnails: string | undefined,
): Promise<Processed> {
  const record = baseRecord(file, layout);
  if (file.size > MAX_IMAGE_FILE_BYTES) {
    // A video or disk image in the folder must not be read whole into memory just to be rejected.
    record.reason = `too large for an image (${(file.size / 1024 ** 2).toFixed(0)} MB; the limit is ${MAX_IMAGE_FILE_BYTES / 1024 ** 2} MB)`;
    return { file, record };
  }
  let bytes: Buffer;
  try {
    // A file scanned as a regular file is read without following links, so one swapped for a link since the scan is
    // not followed outside the folder; a scanned link must still lead where it led when the walk checked it.
    bytes = await readRegularFile(file.absPath, { maxBytes: MAX_IMAGE_FILE_BYTES, noFollow: file.linkTarget === undefined });
    if (file.linkTarget !== undefined && (await realpath(file.absPath)) !== file.linkTarget) throw new AppError('failed', 'link retargeted');
  } catch (error) {
    record.reason = readFailure(error);
    return { file, record };
  }
  record.contentHash = contentHashOf(bytes);
  // The walk's size/mtime are the "before"; compare them with what was read and with the file now.
  let after;
  try {
    after = await stat(file.absPath);
  } catch {
    record.reason = 'deleted during import';
    return { file, record };
  }
  if (bytes.length !== file.size || after.size !== file.size || after.mtimeMs !== file.mtimeMs) {
    record.reason = CHANGED;
    record.byteSize = after.size;
    record.mtimeMs = after.mtimeMs;
    return { file, record };
  }
  const owner = owners.get(record.contentHash);
  // A copy of a file that vanished this scan is that file moved, not a duplicate: it is validated like a new one.
  if (owner !== undefined && owner !== ownId && !vanishedOwners.has(owner)) {
    // An exact copy of an image already in the catalogue: no need to decode it again.
    record.status = 'duplicate';
    record.duplicateOf = owner;
    record.reason = 'exact duplicate';
    return { file, record };
  }
  let probe: ProbeResult;
  if (thumbnails === undefined) probe = await probeImage(bytes);
  else {
    const made = await probeWithThumbnail(bytes);
    probe = made.probe;
    // A thumbnail that cannot be written (disk full) is made again on first display; the import goes on.
    if (made.thumbnail) await storeThumbnail(thumbnails, record.contentHash, made.thumbnail).catch(() => undefined);
  }
  if (!probe.ok) {
    record.reason = probe.reason;
    return { file, record };
  }
  Object.assign(record, {
    status: 'ok',
    width: probe.facts.width,
    height: probe.facts.height,
    format: probe.facts.format,
    colorSpace: probe.facts.colorSpace,
    channels: probe.facts.channels,
    hasAlpha: probe.facts.hasAlpha,
    orientation: probe.facts.orientation,
  } satisfies Partial<ImageRecord>);
  return { file, record };
}

function isUnchanged(known: KnownImage | undefined, file: WalkedFile): boolean {
  if (!known || known.status === 'missing') return false;
  if (known.byteSize !== file.size || known.mtimeMs !== file.mtimeMs) return false;
  return !(known.status === 'rejected' && known.reason !== null && TRANSIENT.test(known.reason));
}

/**
 * Imports (or re-imports) a folder into an existing dataset row. Work is committed in batched transactions in path
 * order, so a cancel or a crash leaves every committed file complete and the rest untouched. Unchanged files (same
 * size and mtime) are skipped without reading them; files no longer on disk are marked missing (completed imports only).
 */
export async function runImport(options: ImportOptions): Promise<ImportOutcome> {
  const { db, datasetId, importId, signal } = options;
  const counters: ImportCounters = { scanned: 0, imported: 0, unchanged: 0, duplicates: 0, rejected: 0, missing: 0 };
  const started = performance.now();
  let processingStarted = started;
  let lastEmit = 0;
  let layout: Layout = 'folders';
  let total = 0;
  let processed = 0;
  // The rate counts only files that are actually read (unchanged ones cost nothing).
  let read = 0;
  let droppedContent = false;

  const emit = (phase: ImportProgress['phase'], force = false) => {
    const now = performance.now();
    if (!force && now - lastEmit < 200) return;
    lastEmit = now;
    const seconds = (now - processingStarted) / 1000;
    const rate = phase !== 'scanning' && seconds > 0 ? read / seconds : 0;
    options.onProgress?.({
      importId,
      datasetId,
      phase,
      scanned: counters.scanned,
      total,
      processed,
      rejected: counters.rejected,
      duplicates: counters.duplicates,
      imagesPerSecond: Number(rate.toFixed(2)),
      // The job runtime derives a smoothed ETA from processed/total, as for every job.
      etaSeconds: phase === 'finishing' ? 0 : null,
    });
  };

  try {
    emit('scanning', true);
    const walk = await walkFolder(options.root, {
      signal,
      onProgress: (scanned) => {
        counters.scanned = scanned;
        emit('scanning');
      },
    });
    counters.scanned = walk.files.length;
    total = walk.files.length;
    layout = detectLayout(walk.files.map((file) => file.relPath));
    setDatasetLayout(db, datasetId, layout);
    await options.afterScan?.(walk.files);

    const known = knownImages(db, datasetId);
    const seen = new Set<string>();
    const todo: WalkedFile[] = [];
    for (const file of walk.files) {
      seen.add(file.relPath);
      const previous = known.get(file.relPath);
      if (isUnchanged(previous, file)) {
        counters.unchanged++;
        if (previous!.status === 'rejected') counters.rejected++;
        if (previous!.status === 'duplicate') counters.duplicates++;
        processed++;
      } else todo.push(file);
    }

    // Who owns each content hash matters only for files that are read: an unchanged re-scan skips the query (a grouped
    // scan of every image, measured at a sixth of a 5,000-file re-scan).
    const owners = todo.length > 0 ? hashOwners(db, datasetId) : new Map<string, number>();

    // Folders the walk could not enter (loops, unreadable) are listed as rejected so the user sees why.
    db.transaction(() => {
      for (const problem of walk.problems) {
        seen.add(problem.relPath);
        upsertImage(db, datasetId, {
          ...baseRecord({ relPath: problem.relPath, absPath: '', size: 0, mtimeMs: 0 }, 'flat'),
          folderLabel: null,
          reason: problem.reason,
        });
        counters.rejected++;
      }
    })();

    // Rows whose path is gone; one whose content shows up at a new path was moved, not lost.
    const vanishedByHash = new Map<string, KnownImage>();
    for (const row of known.values()) {
      if (!seen.has(row.relPath) && row.status === 'ok' && row.contentHash) vanishedByHash.set(row.contentHash, row);
    }
    const vanishedIds = new Set([...vanishedByHash.values()].map((row) => row.id));
    const moved = new Set<number>();

    processingStarted = performance.now();
    emit('processing', true);
    const concurrency = Math.max(1, options.concurrency ?? importConcurrency());
    const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    const batchMilliseconds = options.batchMilliseconds ?? BATCH_MS;
    // Files read ahead of the last commit, at most: bounds the records held in memory whatever the folder's size.
    const window = Math.max(2 * batchSize, batchSize + concurrency);
    const classIds = new Map<string, number>();
    const classId = (name: string) => {
      let id = classIds.get(name);
      if (id === undefined) {
        id = ensureClass(db, datasetId, name);
        classIds.set(name, id);
      }
      return id;
    };

    const commit = (results: readonly Processed[]) => {
      db.transaction(() => {
        for (const result of results) {
          const record = result.record;
          // A move keeps the vanished row; but when the new path already has its own row (a file moved over another),
          // that row is updated in place instead, since two rows cannot share a path.
          const vanished = record.contentHash && record.status !== 'rejected' ? vanishedByHash.get(record.contentHash) : undefined;
          const movedFrom = vanished && !known.has(record.relPath) ? vanished : undefined;
          // Moved over a known path: the vanished row stays missing, so it must not make this copy a "duplicate".
          if (vanished && !movedFrom && owners.get(record.contentHash!) === vanished.id) owners.delete(record.contentHash!);
          if (movedFrom) {
            vanishedByHash.delete(record.contentHash!);
            moved.add(movedFrom.id);
            moveImage(db, movedFrom.id, record);
            owners.set(record.contentHash!, movedFrom.id);
            counters.imported++;
            if (record.folderLabel) applyFolderLabel(db, movedFrom.id, classId(record.folderLabel), record.folderLabel);
            continue;
          }
          // Files read at once (up to a batch and its read-ahead) can be two new copies that both decode: the first
          // in path order stays the original, since results are committed in path order.
          if (record.status === 'ok' && record.contentHash && owners.has(record.contentHash)) {
            const owner = owners.get(record.contentHash)!;
            const ownRow = known.get(record.relPath);
            if (ownRow?.id !== owner) {
              record.status = 'duplicate';
              record.duplicateOf = owner;
              record.reason = 'exact duplicate';
            }
          }
          const previous = known.get(record.relPath);
          if (previous?.status === 'ok' && previous.contentHash !== record.contentHash) droppedContent = true;
          const id = upsertImage(db, datasetId, record);
          if (record.status === 'ok' && record.contentHash) owners.set(record.contentHash, id);
          if (record.status === 'ok') counters.imported++;
          else if (record.status === 'duplicate') counters.duplicates++;
          else counters.rejected++;
          if ((record.status === 'ok' || record.status === 'duplicate') && record.folderLabel) {
            applyFolderLabel(db, id, classId(record.folderLabel), record.folderLabel);
          }
        }
        updateImportRow(db, importId, counters);
      })();
    };

    // A pool of `concurrency` readers runs through the files in path order without waiting for each other; finished
    // files are committed in path order, `batchSize` to a transaction (or whatever is ready after BATCH_MS, so a slow
    // folder still shows its work), while the readers go on decoding on sharp's threads. A cancel, a crash or a
    // failed commit loses at most the files not yet committed; everything committed is complete.
    const ready = new Map<number, Processed>();
    let nextIndex = 0;
    let committed = 0;
    let lastCommitAt = performance.now();
    let stopped = false;
    let waiting: Array<() => void> = [];
    // Commits whole batches of finished files in path order (several when a slow file held them back), and with
    // `force` or after batchMilliseconds whatever finished run is left.
    const commitReady = (force: boolean) => {
      for (;;) {
        let end = committed;
        while (end - committed < batchSize && ready.has(end)) end++;
        if (end === committed) return;
        if (!force && end - committed < batchSize && performance.now() - lastCommitAt < batchMilliseconds) return;
        const results: Processed[] = [];
        for (let index = committed; index < end; index++) {
          results.push(ready.get(index)!);
          ready.delete(index);
        }
        commit(results);
        committed = end;
        lastCommitAt = performance.now();
        for (const wake of waiting.splice(0)) wake();
        emit('processing');
        options.afterBatch?.(committed);
      }
    };
    const reader = async () => {
      while (!stopped && !signal?.aborted && nextIndex < todo.length) {
        if (nextIndex - committed >= window) {
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        const index = nextIndex++;
        const file = todo[index]!;
        ready.set(index, await processFile(file, layout, owners, known.get(file.relPath)?.id, vanishedIds, options.thumbnails));
        read++;
        processed++;
        // Forced only when every file is read: the last index can finish before slower files ahead of it, and forcing
        // then committed a partial batch (60, 120, 178, 180 instead of 60, 120, 180).
        commitReady(read === todo.length);
        emit('processing');
      }
    };
    const readers = await Promise.allSettled(Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
      try {
        await reader();
      } catch (error) {
        // A failed commit: the other readers stop after their current file, and nothing more is written.
        stopped = true;
        for (const wake of waiting.splice(0)) wake();
        throw error;
      }
    }));
    const failure = readers.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    // Cancelled: the files already read are complete, so they are kept too.
    commitReady(true);
    waiting = [];

    if (signal?.aborted) {
      finishImportRow(db, importId, 'cancelled', counters, null);
      return { status: 'cancelled', counters, layout, error: null, droppedContent };
    }
    emit('finishing', true);
    db.transaction(() => {
      const vanished = [...known.values()].filter((row) => !seen.has(row.relPath) && row.status !== 'missing' && !moved.has(row.id)).map((row) => row.id);
      markMissing(db, vanished);
      counters.missing = vanished.length;
      if (vanished.length > 0) droppedContent = true;
      if (layout === 'tutorial' && latestSplitId(db, datasetId) === null) {
        // The tutorial layout carries its split in the folders: record it at once, like the tutorial does.
        try {
          createSplit(db, datasetId, { preset: 'tutorial', seed: 1, train: 0, val: 0, test: 0 });
        } catch {
          // No labelled images under train/ and validation/: nothing to split yet.
        }
      }
    })();
    finishImportRow(db, importId, 'completed', counters, null);
    processed = total;
    emit('finishing', true);
    return { status: 'completed', counters, layout, error: null, droppedContent };
  } catch (error) {
    const aborted = signal?.aborted === true;
    const message = aborted ? null : (error as Error).message;
    finishImportRow(db, importId, aborted ? 'cancelled' : 'failed', counters, message);
    return { status: aborted ? 'cancelled' : 'failed', counters, layout, error: message, droppedContent };
  }
}
