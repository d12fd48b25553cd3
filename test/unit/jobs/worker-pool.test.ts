// The pool's bookkeeping with stand-in processes: every process it launches is one it can kill on close, even when
// several requests ask for the interactive worker at the same moment (Try it and inspect from one page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../../electron/jobs/worker/pool';
import type { RawWorkerHandle, WorkerExit } from '../../../electron/jobs/worker/launcher';
import type { TaskIo } from '../../../shared/worker-task';

interface StandIn extends RawWorkerHandle { killed: boolean }

/** A process that answers every `run` with `done` at once, and records whether it was killed. */
function standInLauncher() {
  const launched: StandIn[] = [];
  let nextPid = 1000;
  const launch = async (): Promise<RawWorkerHandle> => {
    // A real launch takes a while: both requests are waiting on it together.
    await new Promise((resolve) => setTimeout(resolve, 20));
    let listener: (message: unknown) => void = () => undefined;
    const exitListeners: Array<(exit: WorkerExit) => void> = [];
    const handle: StandIn = {
      pid: nextPid++,
      kind: 'child',
      killed: false,
      send(message) {
        const m = message as { type: string; taskId: number };
        if (m.type === 'run') setTimeout(() => listener({ type: 'done', taskId: m.taskId, status: 'completed', result: { pid: handle.pid }, error: null }), 5);
      },
      onMessage(l) {
        listener = l;
      },
      onExit(l) {
        exitListeners.push(l);
      },
      kill() {
        handle.killed = true;
        for (const l of exitListeners) l({ code: null, signal: 'SIGKILL', stderrTail: '' });
      },
    };
    launched.push(handle);
    return handle;
  };
  return { launched, launch };
}

const io = (): TaskIo<never> => ({
  signal: new AbortController().signal,
  settings: { threads: 1, cacheDir: '/tmp', appVersion: 'test', progressIntervalMs: 0 },
  progress: () => undefined,
  event: () => undefined,
  log: () => undefined,
});

test('requests that arrive together share one interactive worker, and close leaves no process running', async () => {
  const { launched, launch } = standInLauncher();
  const pool = new WorkerPool({ launch });
  const answers = await Promise.all([1, 2, 3].map(() => pool.run({ jobId: null, lane: 'interactive', task: 'inspect', input: { model: { path: '/m' } } }, io())));
  assert.equal(launched.length, 1, 'one interactive process');
  assert.deepEqual(answers.map((a) => (a as unknown as { pid: number }).pid), [1000, 1000, 1000]);
  await pool.close();
  assert.deepEqual(launched.map((handle) => handle.killed), [true]);
});

test('two tasks of one cpu job starting together share its process', async () => {
  const { launched, launch } = standInLauncher();
  const pool = new WorkerPool({ launch });
  await Promise.all([1, 2].map(() => pool.run({ jobId: 9, lane: 'cpu', task: 'inspect', input: { model: { path: '/m' } } }, io())));
  assert.equal(launched.length, 1);
  await pool.close();
  assert.ok(launched.every((handle) => handle.killed));
});
