import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeCatalogueError, inMemoryCopy, openDatabase, schemaVersion } from '../../../electron/catalogue/database';
import { migrations } from '../../../electron/catalogue/migrations/index';
import { tempDir } from '../../support/temp';

const withCode = (code: string) => Object.assign(new Error(`${code}: something`), { code });

test('file-system errors name the catalogue only while it is being opened', () => {
  for (const code of ['EACCES', 'EPERM', 'ENOTDIR', 'EROFS']) {
    assert.equal(describeCatalogueError(withCode(code), '/data/pawprint.db'), null, `${code} from a label export keeps its own message`);
    assert.match(describeCatalogueError(withCode(code), '/data/pawprint.db', { opening: true })?.message ?? '', /cannot open the catalogue \/data\/pawprint\.db/);
  }
});

test('every SQLite failure a user can meet is one line naming the catalogue', () => {
  for (const code of ['SQLITE_NOTADB', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_CORRUPT', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_PERM', 'SQLITE_AUTH', 'SQLITE_CANTOPEN']) {
    const described = describeCatalogueError(withCode(code), '/data/pawprint.db');
    assert.ok(described, `${code} is described`);
    assert.ok(!described.message.includes('\n') && described.message.includes('/data/pawprint.db'), described.message);
  }
});

test('a cleanly closed WAL catalogue reads from an in-memory copy; one with unsaved changes in its -wal is refused', () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'catalogue.db');
    const db = openDatabase(path);
    db.prepare(`INSERT INTO datasets (name, root_path, layout) VALUES ('pets', '/photos', 'folders')`).run();
    db.close();
    const copy = inMemoryCopy(path);
    try {
      assert.equal(copy.readonly, true);
      assert.equal(schemaVersion(copy), migrations.at(-1)!.version);
      assert.deepEqual(copy.prepare('SELECT name FROM datasets').all(), [{ name: 'pets' }]);
    } finally {
      copy.close();
    }
    // A writer that has not checkpointed leaves its changes in the -wal; the copy would miss them.
    const writer = openDatabase(path);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare(`INSERT INTO datasets (name, root_path, layout) VALUES ('more', '/more', 'folders')`).run();
    try {
      assert.throws(() => inMemoryCopy(path), /holds changes not yet saved into it/);
    } finally {
      writer.close();
    }
  } finally {
    dir.cleanup();
  }
});
