import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { migrations } from '../../../electron/catalogue/migrations/index';
import { tempDir } from '../../support/temp';

const OPENERS = 12;
const databaseModule = pathToFileURL(join(import.meta.dirname, '../../../electron/catalogue/database.ts')).href;

// Each child loads the catalogue code, says "ready", then waits for the go file so that all twelve open the brand-new
// file within a few milliseconds of each other (loading tsx takes far longer than the race window).
const childScript = `
import { existsSync } from 'node:fs';
const { openDatabase, schemaVersion } = await import(process.env.DATABASE_MODULE);
process.stdout.write('ready\\n');
while (!existsSync(process.env.GO_FILE)) await new Promise((resolve) => setTimeout(resolve, 2));
const db = openDatabase(process.env.CATALOGUE);
process.stdout.write('version ' + schemaVersion(db) + '\\n');
db.close();
`;

interface Opener {
  ready: Promise<void>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startOpener(env: Record<string, string>): Opener {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childScript], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('ready')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      markReady(); // a child that died while loading must not hang the barrier
      resolve({ code, stdout, stderr });
    }),
  );
  return { ready, exit };
}

test('twelve processes opening one brand-new catalogue at once all succeed and migrate it exactly once', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    const catalogue = join(dir.path, 'shared.db');
    const goFile = join(dir.path, 'go');
    const openers = Array.from({ length: OPENERS }, () =>
      startOpener({ DATABASE_MODULE: databaseModule, GO_FILE: goFile, CATALOGUE: catalogue }),
    );
    await Promise.all(openers.map((opener) => opener.ready));
    writeFileSync(goFile, '');
    const results = await Promise.all(openers.map((opener) => opener.exit));
    const latest = migrations.at(-1)!.version;
    const failures = results.filter((result) => result.code !== 0).map((result) => result.stderr.split('\n').find((line) => /Error/.test(line)) ?? result.stderr.trim());
    assert.deepEqual(failures, [], `${failures.length} of ${OPENERS} openers failed`);
    for (const result of results) assert.match(result.stdout, new RegExp(`version ${latest}\\b`));

    const db = new BetterSqlite3(catalogue, { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), latest);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'").pluck().get(), 1);
      const runColumns = db.prepare("SELECT name FROM pragma_table_info('runs') WHERE name = 'owner'").pluck().all();
      assert.deepEqual(runColumns, ['owner']);
    } finally {
      db.close();
    }
  } finally {
    dir.cleanup();
  }
});
