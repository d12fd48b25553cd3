import BetterSqlite3 from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import { migrations as defaultMigrations } from './migrations/index';
import type { Migration } from './migrations/index';

export type { Database } from 'better-sqlite3';

/**
 * The statement for `sql` on this connection, prepared on first use: the importer writes once per file, and preparing
 * per call cost more than the write itself at 100,000 files.
 */
const statementCache = new WeakMap<Database, Map<string, Statement>>();
export function prepared(db: Database, sql: string): Statement {
  let statements = statementCache.get(db);
  if (!statements) statementCache.set(db, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement;
}

/** Checks that versions strictly increase, so a misnumbered file fails loudly at start instead of skipping work. */
export function checkMigrationOrder(list: readonly Migration[]): void {
  let previous = 0;
  for (const migration of list) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(
        `Migration "${migration.name}" has version ${migration.version}, which does not follow version ${previous}`,
      );
    }
    previous = migration.version;
  }
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** How long an opener waits for another process's lock (a migration, a long write) before it reports the catalogue busy. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Applies pending migrations, each in its own write transaction together with its user_version bump. The transaction
 * takes the write lock first (BEGIN IMMEDIATE) and reads user_version again under it: another process opening the
 * same new catalogue may have applied the migration while this one waited.
 */
export function migrate(db: Database, list: readonly Migration[] = defaultMigrations): number {
  checkMigrationOrder(list);
  const latest = list.at(-1)?.version ?? 0;
  refuseNewerSchema(schemaVersion(db), latest);
  for (const migration of list) {
    if (migration.version <= schemaVersion(db)) continue;
    db.transaction(() => {
      const current = schemaVersion(db);
      refuseNewerSchema(current, latest);
      if (migration.version <= current) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}

function refuseNewerSchema(current: number, latest: number): void {
  if (current > latest) {
    throw new AppError(
      'unsupported',
      `This catalogue (schema version ${current}) was written by a newer version of Pawprint; this version understands up to ${latest}. Update Pawprint, or open another catalogue with --db.`,
    );
  }
}

export interface OpenOptions {
  /** Only read: browse a catalogue without changing it. Chosen by itself when the file or its folder is not writable. */
  readonly?: boolean;
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A catalogue this process may not write: opening it read-write would fail at the first write (or, for the WAL
 * files a WAL catalogue needs beside it, at the first read), so it is opened read-only instead. Root passes these
 * checks for any file; a catalogue root cannot write fails at the write with the same one-line message.
 */
function mustOpenReadonly(path: string): boolean {
  return existsSync(path) && (!isWritable(path) || !isWritable(dirname(path)));
}

/** A catalogue problem as one line that names the file and says what to do, or null for any other error. */
export function describeCatalogueError(error: unknown, path: string, options: { opening?: boolean } = {}): AppError | null {
  if (error instanceof AppError) return null;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_NOTADB') return new AppError('unsupported', `${path} is not a Pawprint catalogue (not an SQLite database)`);
  if (code.startsWith('SQLITE_READONLY')) return new AppError('unavailable', `the catalogue is read-only: ${path}`);
  if (isBusy(error)) {
    return new AppError('unavailable', `the catalogue is busy (another process holds a lock on it): ${path}; try again once that process finishes`);
  }
  if (code.startsWith('SQLITE_CORRUPT')) return new AppError('failed', `the catalogue is damaged (SQLite reports it corrupt): ${path}; restore it from a backup`);
  if (code === 'SQLITE_FULL') return new AppError('failed', `the disk holding the catalogue is full: ${path}`);
  if (code.startsWith('SQLITE_IOERR')) return new AppError('failed', `the catalogue could not be read or written (disk I/O error, ${code}): ${path}; check the disk`);
  if (code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') return new AppError('unavailable', `access to the catalogue was refused (${code}): ${path}`);
  // File-system codes name the catalogue only while it is being opened; later they come from other files (an export
  // folder, a label export) and must keep their own message.
  const openingFailed = options.opening === true && (code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EROFS');
  if (code.startsWith('SQLITE_CANTOPEN') || openingFailed) {
    return new AppError('unavailable', `cannot open the catalogue ${path} (${code}); check that the file and its folder exist and may be written, or choose another with --db`);
  }
  return null;
}

/** A brand-new file becomes WAL once; openers that race for it wait on the busy timeout set before this. */
function useWriteAheadLog(db: Database): void {
  if (db.pragma('journal_mode', { simple: true }) === 'wal') return;
  db.pragma('journal_mode = WAL');
}

type ConnectionSettings = BetterSqlite3.Options;

/**
 * Even a read-only reader of a WAL catalogue needs its -shm file, which it cannot create in a folder it may not
 * write. A catalogue closed cleanly has everything in the main file (no -wal, or an empty one), so it is read from a
 * copy in memory instead; one with unsaved changes in its -wal cannot be read that way and is refused.
 */
function readableConnection(db: Database, path: string, settings: ConnectionSettings): Database {
  try {
    schemaVersion(db);
    return db;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN') throw error;
    db.close();
  }
  return inMemoryCopy(path, settings);
}

/** A read-only connection to a copy of a cleanly closed catalogue, for folders where SQLite cannot make its -shm. */
export function inMemoryCopy(path: string, settings: ConnectionSettings = { readonly: true }): Database {
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new AppError('unavailable', `the catalogue's folder is read-only and ${wal} holds changes not yet saved into it; open it once with write access: ${path}`);
  }
  const image = readFileSync(path);
  // Bytes 18-19 say "WAL"; an in-memory copy has no WAL, so they are set back to the rollback journal's 1.
  if (image.length >= 20) image.fill(1, 18, 20);
  return new BetterSqlite3(image, settings);
}

function openConnection(path: string, list: readonly Migration[], readonly: boolean): Database {
  if (readonly && path !== ':memory:' && !existsSync(path)) {
    throw new AppError('not-found', `there is no catalogue at ${path}; import a folder first, or choose another with --db`);
  }
  if (!readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Under `npm start` the desktop app loads a copy of the native module built for Electron's ABI (scripts/start.mjs);
  // packaged apps get theirs rebuilt by electron-builder, and plain Node uses the one npm install built.
  const nativeBinding = process.versions.electron ? process.env.PAWPRINT_SQLITE_BINDING : undefined;
  const settings = { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS, ...(nativeBinding ? { nativeBinding } : {}) };
  let db = new BetterSqlite3(path, settings);
  if (readonly) db = readableConnection(db, path, settings);
  try {
    if (!readonly) useWriteAheadLog(db);
    db.pragma('foreign_keys = ON');
    if (readonly) {
      const latest = list.at(-1)?.version ?? 0;
      const current = schemaVersion(db);
      refuseNewerSchema(current, latest);
      if (current < latest) {
        throw new AppError(
          'unsupported',
          `the catalogue is read-only and needs an upgrade for this version of Pawprint (schema ${current}, needs ${latest}): ${path}; open it once with write access`,
        );
      }
    } else {
      migrate(db, list);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export function openDatabase(path: string, list: readonly Migration[] = defaultMigrations, options: OpenOptions = {}): Database {
  const readonly = path !== ':memory:' && (options.readonly === true || mustOpenReadonly(path));
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return openConnection(path, list, readonly);
    } catch (error) {
      // Where waiting could deadlock (openers racing to turn a brand-new file into WAL) SQLite answers busy at once,
      // without the busy timeout: the whole open is tried again, within the same timeout.
      if (isBusy(error) && Date.now() < deadline) {
        sleepSync(Math.min(200, 10 * attempt));
        continue;
      }
      throw describeCatalogueError(error, path, { opening: true }) ?? error;
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Opening is synchronous (better-sqlite3), so the pause between tries blocks this thread, briefly. */
function sleepSync(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}
