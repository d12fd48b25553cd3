// Issue 14's last run-page and Train-view items, in the real stores against a fake preload bridge: the run page shows
// the run's stored log (not only lines heard live) and follows a training run's new lines; it lists the run's exports
// and shows a new one when its export job ends; the Train view says its time left in the Jobs panel's words; and a
// backend this machine lacks is recognised by the issue's code, whatever its words say.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBridge, installBridge, jobInfo, loadStore, runSummary, trainProgress, until } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { JobFinished, RunExport, RunLogLine } from '../../../shared/contract/index';

const line = (seq: number, message: string, level: 'info' | 'warn' = 'info'): RunLogLine => ({ seq, at: '2026-01-01T10:00:00.000Z', level, message });

class RunPageBridge extends FakeBridge {
  log: RunLogLine[] = [line(1, 'decoded 16 images at 224x224'), line(2, 'base features: 0 from the cache, 16 computed')];
  exports: RunExport[] = [];
  /** The backend issue training.validateConfig answers for backend 'node'. */
  nodeIssue: { message: string; code?: 'backend-unavailable'; backend?: string } | null = null;

  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    const p = payload as Record<string, unknown>;
    const answer = (value: unknown): Envelope<unknown> => this.respond(channel, payload, value);
    if (channel === 'runs.get' && p.runId === 1) return answer({ ...this.catalogue.runs[0]!, epochs: [], config: {}, log: this.log });
    if (channel === 'runs.log') return answer({ lines: this.log.filter((l) => l.seq > (p.afterSeq as number)) });
    if (channel === 'runs.exports') return answer({ exports: this.exports });
    if (channel === 'runs.evaluations') return answer({ evaluations: [] });
    if (channel === 'training.validateConfig') {
      const config = p.config as { backend?: string };
      const issues = config.backend === 'node' && this.nodeIssue ? [{ severity: 'error', layer: null, ...this.nodeIssue }] : [];
      return answer({ ok: issues.length === 0, issues, layers: [], totalParams: 0, config: null });
    }
    return super.invoke(channel, payload);
  }
}

const bridge = new RunPageBridge({
  datasets: [], images: new Map(), runs: [runSummary(1, 1, false)], splits: [], finished: new Map(),
  jobs: [jobInfo(7, 'train', 'running', { runId: 1, progress: trainProgress(7, 1, 1, 3) })],
});
installBridge(bridge);

interface Page { run: { log: RunLogLine[] }; exports: RunExport[] }
let runs: {
  refresh(): Promise<void>; openPage(runId: number | null): Promise<void>; page: Page | null; readonly pageLog: RunLogLine[]; pageError: string | null;
};
let jobs: { ready(): Promise<void> };
let training: {
  watch(runId: number): void; readonly timeLeft: string; config: { backend: string }; backendNote: string | null; unavailableBackends: string[];
  update(change: (config: { backend: string }) => void): void; validate(): Promise<void>;
};


before(async () => {
  const store = loadStore;
  jobs = (await store('jobs')).jobsStore as typeof jobs;
  runs = (await store('runs')).runsStore as typeof runs;
  training = (await store('training')).trainingStore as typeof training;
  await jobs.ready();
});

test('the run page shows the run\'s stored log, and follows a training run\'s new lines without repeating any', async () => {
  await runs.openPage(1);
  assert.equal(runs.pageError, null);
  assert.deepEqual(runs.pageLog.map((l) => l.message), ['decoded 16 images at 224x224', 'base features: 0 from the cache, 16 computed'],
    'lines logged before this page opened (a reload, another process) are shown');

  // The run logs more while the page is open (here or in another process): the page asks for the lines after its last.
  bridge.log.push(line(3, 'epoch 1: loss 0.61'), line(4, 'fine-tuning skipped', 'warn'), line(5, 'epoch 2: loss 0.40'));
  await until('the new lines are shown', () => runs.pageLog.length === 5, 5000);
  assert.deepEqual(bridge.calls.filter((c) => c.channel === 'runs.log')[0]!.payload, { runId: 1, afterSeq: 2 });
  assert.deepEqual(runs.pageLog.map((l) => l.seq), [1, 2, 3, 4, 5]);
  assert.equal(runs.pageLog[3]!.level, 'warn');
  await sleep(1700);
  assert.deepEqual(runs.pageLog.map((l) => l.seq), [1, 2, 3, 4, 5], 'asked again, no line is shown twice');

  // The run ends (its page reloads on jobs.finished): a finished run's log no longer grows, so the page stops asking.
  bridge.catalogue.runs[0] = runSummary(1, 1, true);
  await runs.refresh();
  await runs.openPage(1);
  const asked = bridge.count('runs.log');
  await sleep(1700);
  assert.equal(bridge.count('runs.log'), asked);
});

test('the run page lists the run\'s exports, and a new export shows when its job ends', async () => {
  const exported = (jobId: number, path: string): RunExport => ({
    jobId, target: 'tfjs', format: 'zip', path, bytes: 2_400_000, finishedAt: '2026-01-01T10:05:00.000Z', present: true,
  });
  bridge.exports = [exported(8, '/exports/first.zip')];
  await runs.openPage(1);
  assert.deepEqual(runs.page?.exports.map((e) => e.path), ['/exports/first.zip']);

  // An export made while the page is open: its job ends, the page shows it without a reload.
  bridge.exports = [exported(9, '/exports/second.zip'), exported(8, '/exports/first.zip')];
  const job = jobInfo(9, 'export', 'completed', { runId: 1, title: 'Export run 1' });
  bridge.catalogue.jobs!.push(job);
  const finished: JobFinished = { id: 9, kind: 'export', status: 'completed', error: null, result: null } as JobFinished;
  bridge.catalogue.finished!.set(9, finished);
  bridge.emit('jobs.finished', finished);
  await until('the new export is listed', () => runs.page?.exports.length === 2);
  assert.deepEqual(runs.page?.exports.map((e) => e.path), ['/exports/second.zip', '/exports/first.zip']);
});

test('the Train view says the watched run\'s time left in the Jobs panel\'s words, not "ETA 42 s"', async () => {
  training.watch(1);
  bridge.emit('jobs.progress', { ...trainProgress(7, 1, 2, 3), etaSeconds: 190 });
  assert.equal(training.timeLeft, 'about 3 min left');
  bridge.emit('jobs.progress', { ...trainProgress(7, 1, 3, 3), etaSeconds: 42 });
  assert.equal(training.timeLeft, 'about 40 s left');
  bridge.emit('jobs.progress', { ...trainProgress(7, 1, 3, 3), etaSeconds: null });
  assert.equal(training.timeLeft, 'estimating time left…');
});

test('a backend this machine lacks is known by the issue\'s code and backend, not by its words', async () => {
  // Reworded: the old regex (/\(tfjs-node\) is not installed/) would not have matched this.
  bridge.nodeIssue = { message: 'Native TensorFlow is missing on this computer; pick Automatic.', code: 'backend-unavailable', backend: 'node' };
  training.update((config) => (config.backend = 'node'));
  await training.validate();
  assert.equal(training.config.backend, 'auto', 'the choice does not stick');
  assert.equal(training.backendNote, 'Native TensorFlow is missing on this computer; pick Automatic.');
  assert.deepEqual(training.unavailableBackends, ['node']);

  // The old words without the code are an ordinary validation error: nothing is taken back by matching text.
  training.unavailableBackends = [];
  training.backendNote = null;
  bridge.nodeIssue = { message: 'The native backend (tfjs-node) is not installed here: choose auto or WebAssembly.' };
  training.update((config) => (config.backend = 'node'));
  await training.validate();
  assert.equal(training.config.backend, 'node');
  assert.deepEqual(training.unavailableBackends, []);
});
