import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { applyThreadPoolSize, threadPoolSizeFor } from '../../../electron/files/thread-pool-size';

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

/** A child started like the CLI (node --import tsx, the CLI's module), answering its process.env from the test's own code. */
function cliChildEnv(env: NodeJS.ProcessEnv): string {
  const cli = pathToFileURL(path.join(ROOT, 'electron/cli/main.ts')).href;
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(cli)}); process.stdout.write(String(process.env.UV_THREADPOOL_SIZE));`],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
}

test('a process that loads the CLI gets UV_THREADPOOL_SIZE from its cores before any other CLI module runs', () => {
  // One child (about 2 s): keeping a size the user chose is the first test's.
  const { UV_THREADPOOL_SIZE: _inherited, ...env } = process.env;
  assert.equal(cliChildEnv(env), String(threadPoolSizeFor(availableParallelism())));
});
