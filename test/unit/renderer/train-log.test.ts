// Issue 14 follow-up: the Train view's Log panel showed only the lines this page heard live (jobs.log), so after a
// reload, or opening Train on a run that was already training, it started empty or half-way. It now shows the run's
// stored log (runs.get) and goes on with the lines heard live, each once, even when lines arrive while the stored log
// is being read (the train kind writes jobs.log at once and the stored log in batches).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, installBridge, jobInfo, loadStore, runSummary, trainProgress, until } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { RunLogLine } from '../../../shared/contract/index';

const line = (seq: number, message: string): RunLogLine => ({ seq, at: '2026-01-01T10:00:00.000Z', level: 'info', message });

class StoredLogBridge extends FakeBridge {
  log: RunLogLine[] = [];
  /** While set, runs.get waits for it: lines can be heard live while the stored log is being read. */
  hold: Promise<void> | null = null;

  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    const p = payload as { runId?: number };
    if (channel === 'runs.get') {
      // The catalogue is read when the request arrives; the answer may come back later.
      const run = this.catalogue.runs.find((r) => r.id === p.runId)!;
      const answer = this.respond(channel, payload, { ...run, epochs: [], config: { preset: 'cnn', mobilenet: {} }, versions: {}, log: this.log });
      if (this.hold) await this.hold;
      return answer;
    }
    if (channel === 'runs.log') {
      const after = (payload as { afterSeq: number }).afterSeq;
      return this.respond(channel, payload, { lines: this.log.filter((l) => l.seq > after) });
    }
    return super.invoke(channel, payload);
  }
}

const bridge = new StoredLogBridge({
  datasets: [], images: new Map(), runs: [runSummary(1, 1, false), runSummary(2, 1, false), runSummary(3, 1, false)], splits: [], finished: new Map(),
  jobs: [
    jobInfo(7, 'train', 'running', { runId: 1, progress: trainProgress(7, 1, 2, 3) }),
    jobInfo(8, 'train', 'queued', { runId: 2 }),
    jobInfo(9, 'train', 'queued', { runId: 3 }),
  ],
});
installBridge(bridge);

let training: { watch(runId: number): void; readonly logs: string[]; watchedDetail: { id: number } | null };
let jobs: { ready(): Promise<void> };


const heard = (id: number, message: string) => bridge.emit('jobs.log', { id, kind: 'train', level: 'info', message });

before(async () => {
  const store = loadStore;
  jobs = (await store('jobs')).jobsStore as typeof jobs;
  training = (await store('training')).trainingStore as typeof training;
  await jobs.ready();
});

test('after a reload the Log panel shows the run\'s stored log, then the lines heard live', async () => {
  bridge.log = [line(1, 'decoded 16 images at 160x160'), line(2, 'epoch 1: loss 0.61'), line(3, 'epoch 2: loss 0.48')];
  training.watch(1);
  await until('the stored log is shown', () => training.logs.length === 3);
  assert.deepEqual(training.logs, ['decoded 16 images at 160x160', 'epoch 1: loss 0.61', 'epoch 2: loss 0.48']);

  heard(7, 'epoch 3: loss 0.40');
  heard(42, 'another job\'s line'); // not the watched run's job
  assert.deepEqual(training.logs, ['decoded 16 images at 160x160', 'epoch 1: loss 0.61', 'epoch 2: loss 0.48', 'epoch 3: loss 0.40']);
});

/**
 * Watches a run whose stored log is read while `live` lines of its job are heard (the race a reload meets), and answers
 * the Log panel's lines before the stored log came back.
 */
async function watchHearing(runId: number, jobId: number, live: string[]): Promise<string[]> {
  let release!: () => void;
  bridge.hold = new Promise((resolve) => (release = resolve));
  training.watch(runId);
  await until('runs.get is asked', () => bridge.calls.some((c) => c.channel === 'runs.get' && (c.payload as { runId: number }).runId === runId));
  for (const message of live) heard(jobId, message);
  const before = [...training.logs];
  release();
  bridge.hold = null;
  await until('the stored log is read', () => training.watchedDetail?.id === runId);
  return before;
}

test('lines heard while the stored log is read show once, whether they were stored by then or not', async () => {
  bridge.log = [line(11, 'decoded 16 images at 160x160'), line(12, 'epoch 1: loss 0.61')];
  // Heard live before the answer: the first was already in the stored log when it was read, the second was not yet.
  const before = await watchHearing(2, 8, ['epoch 1: loss 0.61', 'epoch 2: loss 0.48']);
  assert.deepEqual(before, ['epoch 1: loss 0.61', 'epoch 2: loss 0.48'], 'before the answer, the lines heard live');
  assert.deepEqual(training.logs, ['decoded 16 images at 160x160', 'epoch 1: loss 0.61', 'epoch 2: loss 0.48']);
  heard(8, 'epoch 3: loss 0.40');
  assert.deepEqual(training.logs, ['decoded 16 images at 160x160', 'epoch 1: loss 0.61', 'epoch 2: loss 0.48', 'epoch 3: loss 0.40']);
});

test('a line logged twice in a row is kept twice: only lines the stored log already holds are dropped', async () => {
  bridge.log = [line(21, 'waiting for the CPU lane')];
  await watchHearing(3, 9, ['waiting for the CPU lane', 'waiting for the CPU lane']);
  assert.deepEqual(training.logs, ['waiting for the CPU lane', 'waiting for the CPU lane']);
});

test('more lines than the jobs store keeps between two looks: the stored log catches up at the next epoch, none is missed', async () => {
  bridge.log = [line(31, 'decoded 16 images at 160x160')];
  training.watch(1);
  await until('the stored log is read', () => training.watchedDetail?.id === 1 && training.logs[0] === 'decoded 16 images at 160x160');
  const batchLines = Array.from({ length: 60 }, (_, i) => `batch ${i + 1}: loss 0.5`);
  // Heard live and stored (in batches) meanwhile; the jobs store keeps only the last 50 of them.
  batchLines.forEach((message, i) => {
    heard(7, message);
    bridge.log.push(line(32 + i, message));
  });
  bridge.emit('training.epoch', { runId: 1, epoch: 4, accuracy: 0.8, valAccuracy: 0.7, loss: 0.5, valLoss: 0.6, durationMs: 1000 });
  await until('the stored log caught up', () => training.logs.length === 61);
  assert.deepEqual(training.logs, ['decoded 16 images at 160x160', ...batchLines]);
  heard(7, 'epoch 4: loss 0.50');
  assert.deepEqual(training.logs.slice(-2), ['batch 60: loss 0.5', 'epoch 4: loss 0.50']);
});
