import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runCli } from '../../../electron/cli/main';
import { openDatabase } from '../../../electron/catalogue/database';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { createRun } from '../../../electron/catalogue/runs';
import { insertSplit } from '../../../electron/catalogue/splits';
import { parseTrainingConfig } from '../../../shared/training-config';
import { tempDir } from '../../support/temp';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, out, err };
}

/** A failed command: non-zero, exactly one line on stderr, and no stack trace anywhere. */
async function runFailing(argv: string[]): Promise<string> {
  const { io, out, err } = capture();
  const code = await runCli(argv, io);
  assert.notEqual(code, 0, `exit code of ${argv.join(' ')}`);
  assert.equal(err.length, 1, `one line on stderr, got: ${JSON.stringify(err)}`);
  assert.equal(err[0]!.split('\n').length, 1, `one line, got: ${err[0]}`);
  assert.doesNotMatch(err.join('\n') + out.join('\n'), /\n\s+at |SqliteError|unexpected error/);
  return err[0]!;
}

/** A catalogue with one dataset, one queued run and one import left running by a process that is gone. */
function seedCatalogue(path: string, root: string): { staleImport: number } {
  const db = openDatabase(path);
  try {
    const dataset = createDataset(db, 'pets', root, 'folders');
    const splitId = insertSplit(db, dataset.id, { method: 'stratified', seed: 1, train: 0.7, val: 0.2, test: 0.1, dataHash: 'h' }, new Map());
    const config = parseTrainingConfig({ preset: 'cnn', epochs: 2 });
    const runId = createRun(db, { datasetId: dataset.id, splitId, name: 'first run', config, classNames: ['cats', 'dogs'], dataHash: 'h' });
    db.prepare('UPDATE runs SET owner = NULL WHERE id = ?').run(runId);
    const staleImport = startImportRow(db, dataset.id);
    db.prepare('UPDATE imports SET owner = NULL WHERE id = ?').run(staleImport);
    return { staleImport };
  } finally {
    db.close();
  }
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a file of random bytes or text is "not a Pawprint catalogue", in one line', async () => {
  const dir = tempDir();
  try {
    const noise = join(dir.path, 'noise.db');
    writeFileSync(noise, randomBytes(8192));
    const text = join(dir.path, 'notes.txt');
    writeFileSync(text, 'shopping list\n'.repeat(400));
    for (const path of [noise, text]) {
      const before = fileHash(path);
      for (const command of ['datasets', 'runs']) {
        const line = await runFailing([command, '--db', path]);
        assert.equal(line, `pawprint ${command}: ${path} is not a Pawprint catalogue (not an SQLite database)`);
      }
      assert.equal(fileHash(path), before, 'the file is left as it was');
    }
  } finally {
    dir.cleanup();
  }
});

test('a catalogue opened read-only lists datasets and runs, changes nothing, and refuses writes in one line', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'catalogue.db');
    const { staleImport } = seedCatalogue(path, dir.path);
    const before = fileHash(path);

    const datasets = capture();
    assert.equal(await runCli(['datasets', '--db', path, '--read-only', '--json'], datasets.io), 0, datasets.err.join('\n'));
    assert.deepEqual((JSON.parse(datasets.out.join('\n')) as Array<{ name: string }>).map((d) => d.name), ['pets']);

    const runs = capture();
    assert.equal(await runCli(['runs', '--db', path, '--read-only', '--json'], runs.io), 0, runs.err.join('\n'));
    const listed = JSON.parse(runs.out.join('\n')) as { runs?: Array<{ name: string; status: string }> } | Array<{ name: string; status: string }>;
    const runList = Array.isArray(listed) ? listed : (listed.runs ?? []);
    assert.deepEqual(runList.map((r) => [r.name, r.status]), [['first run', 'queued']], 'a read-only open does not fail interrupted runs');

    const emptyFolder = join(dir.path, 'photos');
    mkdirSync(emptyFolder);
    const line = await runFailing(['import', emptyFolder, '--db', path, '--read-only']);
    assert.equal(line, `pawprint import: the catalogue is read-only: ${path}`);

    assert.equal(fileHash(path), before, 'the catalogue file is unchanged');
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT status FROM imports WHERE id = ?').pluck().get(staleImport), 'running', 'not marked failed by a reader');
    } finally {
      db.close();
    }

    const missing = await runFailing(['datasets', '--db', join(dir.path, 'absent.db'), '--read-only']);
    assert.match(missing, /^pawprint datasets: there is no catalogue at .*absent\.db/);
  } finally {
    dir.cleanup();
  }
});

const isRoot = process.getuid?.() === 0;
const repositoryRoot = join(import.meta.dirname, '../../..');

/** Root writes through any permission bits, so as root the CLI runs as "nobody" to meet a catalogue it may not write. */
function unprivilegedRunner(): ((argv: string[]) => { code: number | null; stdout: string; stderr: string }) | string {
  if (!isRoot) return () => assert.fail('in-process runner is used when not root');
  const probe = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', '-e', ''], { cwd: repositoryRoot, encoding: 'utf8' });
  if (probe.status !== 0) return `running as root and cannot run node as "nobody" here (${(probe.stderr || String(probe.error)).split('\n')[0]})`;
  return (argv) => {
    const child = spawnSync('runuser', ['-u', 'nobody', '--', 'env', 'HOME=/tmp', process.execPath, '--import', 'tsx', 'electron/cli/entry.ts', ...argv], {
      cwd: repositoryRoot,
      encoding: 'utf8',
    });
    return { code: child.status, stdout: child.stdout, stderr: child.stderr };
  };
}

const runner = unprivilegedRunner();

async function runUnprivileged(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (typeof runner === 'function' && isRoot) return runner(argv);
  const { io, out, err } = capture();
  const code = await runCli(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.map((line) => line + '\n').join('') };
}

for (const folderWritable of [true, false]) {
  const what = folderWritable ? 'file without write permission' : 'file and folder without write permission (no -shm can be made)';
  test(`a catalogue ${what} is opened read-only by itself: it lists, and writes fail in one line`, { skip: typeof runner === 'string' ? runner : false, timeout: 60_000 }, async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'catalogue.db');
      seedCatalogue(path, dir.path);
      const emptyFolder = join(dir.path, 'photos');
      mkdirSync(emptyFolder);
      const before = fileHash(path);
      chmodSync(path, 0o444);
      chmodSync(dir.path, folderWritable ? 0o777 : 0o555);

      const datasets = await runUnprivileged(['datasets', '--db', path, '--json']);
      assert.equal(datasets.code, 0, datasets.stderr);
      assert.deepEqual((JSON.parse(datasets.stdout) as Array<{ name: string }>).map((d) => d.name), ['pets']);
      const runs = await runUnprivileged(['runs', '--db', path]);
      assert.equal(runs.code, 0, runs.stderr);
      assert.match(runs.stdout, /first run/);

      const write = await runUnprivileged(['import', emptyFolder, '--db', path]);
      assert.notEqual(write.code, 0);
      assert.equal(write.stderr, `pawprint import: the catalogue is read-only: ${path}\n`);
      assert.equal(fileHash(path), before, 'the catalogue file is unchanged');
    } finally {
      chmodSync(dir.path, 0o755);
      dir.cleanup();
    }
  });
}

test('a catalogue another process holds locked past the busy timeout is reported busy in one line', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'catalogue.db');
    seedCatalogue(path, dir.path);
    const holder = new BetterSqlite3(path);
    try {
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('BEGIN EXCLUSIVE');
      holder.prepare("UPDATE datasets SET name = 'held' WHERE name = 'pets'").run();
      const line = await runFailing(['datasets', '--db', path]);
      assert.match(line, /^pawprint datasets: the catalogue is busy \(another process holds a lock on it\): .*catalogue\.db; try again/);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
  } finally {
    dir.cleanup();
  }
});

test('a catalogue from a newer Pawprint says so in one line', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'catalogue.db');
    seedCatalogue(path, dir.path);
    const db = new BetterSqlite3(path);
    db.pragma('user_version = 999');
    db.close();
    for (const flags of [[], ['--read-only']]) {
      const line = await runFailing(['datasets', '--db', path, ...flags]);
      assert.match(line, /schema version 999\) was written by a newer version of Pawprint/);
    }
  } finally {
    dir.cleanup();
  }
});
