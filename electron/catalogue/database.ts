import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import { migrations as defaultMigrations } from './migrations/index';
import type { Migration } from './migrations/index';

export type { Database } from 'better-sqlite3';

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

/** Applies pending migrations, each in its own transaction together with its user_version bump. */
export function migrate(db: Database, list: readonly Migration[] = defaultMigrations): number {
  checkMigrationOrder(list);
  const latest = list.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new AppError(
      'unsupported',
      `This catalogue (schema version ${current}) was written by a newer version of Pawprint; this version understands up to ${latest}. Update Pawprint, or open another catalogue with --db.`,
    );
  }
  for (const migration of list) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return schemaVersion(db);
}

export function openDatabase(path: string, list: readonly Migration[] = defaultMigrations): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Under `npm start` the desktop app loads a copy of the native module built for Electron's ABI (scripts/start.mjs);
  // packaged apps get theirs rebuilt by electron-builder, and plain Node uses the one npm install built.
  const nativeBinding = process.versions.electron ? process.env.PAWPRINT_SQLITE_BINDING : undefined;
  const db = new BetterSqlite3(path, nativeBinding ? { nativeBinding } : {});
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, list);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
