import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { checkMigrationOrder, migrate, openDatabase, schemaVersion } from '../../../electron/catalogue/database';
import { migrations } from '../../../electron/catalogue/migrations/index';
import type { Migration } from '../../../electron/catalogue/migrations/index';
import { AppError } from '../../../shared/errors';
import { tempDir } from '../../support/temp';

const latest = migrations.at(-1)!.version;

test('a fresh catalogue gets every migration, WAL and foreign keys', () => {
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir.path, 'sub', 'fresh.db'));
    assert.equal(schemaVersion(db), latest);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const table of ['datasets', 'images', 'classes', 'labels', 'splits', 'split_assignments', 'runs', 'epochs', 'evaluations', 'predictions']) {
      assert.ok(tables.includes(table), `table ${table}`);
    }
    db.close();
  } finally {
    dir.cleanup();
  }
});

test('an older catalogue is upgraded step by step, keeping its rows', () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'old.db');
    const v1: Migration = { version: 1, name: 'one', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL) STRICT') };
    const v2: Migration = { version: 2, name: 'two', up: (db) => db.exec("ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'") };
    const first = openDatabase(path, [v1]);
    first.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    first.close();
    const second = openDatabase(path, [v1, v2]);
    assert.equal(schemaVersion(second), 2);
    assert.deepEqual(second.prepare('SELECT text, tag FROM notes').get(), { text: 'kept', tag: 'none' });
    second.close();
  } finally {
    dir.cleanup();
  }
});

test('a failing migration rolls back entirely and leaves the version alone', () => {
  const db = new BetterSqlite3(':memory:');
  const broken: Migration = {
    version: 1,
    name: 'broken',
    up: (handle) => {
      handle.exec('CREATE TABLE half (id INTEGER)');
      throw new Error('disk on fire');
    },
  };
  assert.throws(() => migrate(db, [broken]), /disk on fire/);
  assert.equal(schemaVersion(db), 0);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get(), 0);
  db.close();
});

test('a catalogue from a newer Pawprint is refused with a clear message and left untouched', () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'future.db');
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${latest + 5}`);
    raw.exec('CREATE TABLE future_stuff (x INTEGER)');
    raw.close();
    assert.throws(
      () => openDatabase(path),
      (error: unknown) => error instanceof AppError && error.code === 'unsupported' && /newer version of Pawprint/.test(error.message),
    );
    const check = new BetterSqlite3(path);
    assert.equal(check.pragma('user_version', { simple: true }), latest + 5);
    check.close();
  } finally {
    dir.cleanup();
  }
});

test('migrations must be numbered in strictly increasing order', () => {
  const noop = () => undefined;
  assert.throws(() => checkMigrationOrder([{ version: 2, name: 'b', up: noop }, { version: 1, name: 'a', up: noop }]), /does not follow/);
  assert.throws(() => checkMigrationOrder([{ version: 1, name: 'a', up: noop }, { version: 1, name: 'dup', up: noop }]), /does not follow/);
  checkMigrationOrder(migrations);
});
