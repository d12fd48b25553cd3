import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { applyThreadPoolSize, threadPoolSizeFor } from '../../../electron/files/thread-pool-size';
import { importConcurrency } from '../../../electron/dataset/importer';

// libuv's thread pool (issue 17): on more than 2 cores the default 4 threads cap an import's readers; the entries set
// UV_THREADPOOL_SIZE from the core count unless the user did, before any other module runs.

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

test('the pool is two threads more than the cores, never below libuv\'s 4; a size the user chose is kept', () => {
  assert.equal(threadPoolSizeFor(1), 4);
  assert.equal(threadPoolSizeFor(2), 4);
  assert.equal(threadPoolSizeFor(8), 10);
  assert.equal(threadPoolSizeFor(64), 66);
  assert.equal(threadPoolSizeFor(4096), 128);
  const unset: NodeJS.ProcessEnv = {};
  assert.equal(applyThreadPoolSize(unset, 16), 18);
  assert.equal(unset.UV_THREADPOOL_SIZE, '18');
  const chosen: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '3' };
  assert.equal(applyThreadPoolSize(chosen, 16), 3);
  assert.equal(chosen.UV_THREADPOOL_SIZE, '3');
  const nonsense: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: 'many' };
  assert.equal(applyThreadPoolSize(nonsense, 6), 8, 'a value libuv would ignore is replaced');
});

/**
 * A child started like the CLI (node --import tsx, the CLI's module), answering from the test's own code: its
 * process.env (what the job workers it forks inherit) and the pool the importer counts on.
 */
function cliChild(env: NodeJS.ProcessEnv): { variable: string; ownPool: number } {
  const cli = pathToFileURL(path.join(ROOT, 'electron/cli/main.ts')).href;
  const pool = pathToFileURL(path.join(ROOT, 'electron/files/thread-pool-size.ts')).href;
  const script = `await import(${JSON.stringify(cli)}); const { ownThreadPoolSize } = await import(${JSON.stringify(pool)});
    process.stdout.write(JSON.stringify({ variable: String(process.env.UV_THREADPOOL_SIZE), ownPool: ownThreadPoolSize }));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { variable: string; ownPool: number };
}

test('a process that loads the CLI sets UV_THREADPOOL_SIZE from its cores for what it forks; its own pool stays the one it started with', () => {
  // One child (about 2 s): keeping a size the user chose is the first test's.
  const { UV_THREADPOOL_SIZE: _inherited, ...env } = process.env;
  assert.deepEqual(cliChild(env), { variable: String(threadPoolSizeFor(availableParallelism())), ownPool: 4 });
});

test('the importer runs two readers more than the cores, within the pool its process started with', () => {
  assert.equal(importConcurrency(4, 2), 4);
  assert.equal(importConcurrency(4, 8), 4, 'a pool of 4 (the entry set the variable too late for itself) keeps 4 readers');
  assert.equal(importConcurrency(10, 8), 10, 'a worker or a launch with the variable set gets cores + 2');
  assert.equal(importConcurrency(64, 8), 10);
  assert.equal(importConcurrency(1, 1), 2);
});
