// The job runtime with fake kinds: one cpu job at a time and the next told its position, FIFO, cancel of queued and
// running jobs, exclusive keys, persistence across a second services instance, progress throttling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { JobFinished, JobProgress } from '../../../shared/contract/jobs';
import { bootTimeSeconds } from '../../../electron/catalogue/process-owner';
import { getJob, insertJob, markJobRunning } from '../../../electron/catalogue/jobs';
import { ProgressThrottle } from '../../../electron/jobs/progress';
import { catalogueIn, servicesWithFake } from './fake-kinds';

const finishedOf = (events: Array<{ name: string; payload: unknown }>, id: number) =>
  events.filter((e) => e.name === 'jobs.finished').map((e) => e.payload as JobFinished).find((f) => f.id === id);
const progressOf = (events: Array<{ name: string; payload: unknown }>, id: number) =>
  events.filter((e) => e.name === 'jobs.progress').map((e) => e.payload as JobProgress).filter((p) => p.id === id);

test('a second cpu job waits with its position and starts when the first ends; io jobs run beside it', async (t) => {
  const { services, fake, events } = servicesWithFake(t);
  fake.scripts.push({ title: 'first', lane: 'cpu' }, { title: 'second', lane: 'cpu' }, { title: 'third', lane: 'cpu' }, { title: 'side', lane: 'io' });
  const start = () => services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  const first = (await start()).job;
  const second = (await start()).job;
  const third = (await start()).job;
  const side = (await start()).job;
  await fake.running('first');
  await fake.running('side');
  assert.deepEqual(fake.started, ['first', 'side']);

  const listed = (await services.request('jobs.list', { active: true })).jobs;
  const byId = new Map(listed.map((job) => [job.id, job]));
  assert.equal(byId.get(first.id)?.status, 'running');
  assert.equal(byId.get(second.id)?.status, 'queued');
  assert.equal(byId.get(second.id)?.queuePosition, 1);
  assert.equal(byId.get(third.id)?.queuePosition, 2);
  assert.equal(byId.get(side.id)?.status, 'running');
  const queued = progressOf(events, second.id).at(-1)!;
  assert.equal(queued.phase, 'queued');
  assert.deepEqual(queued.detail, { type: 'queue', position: 1, waitingFor: [first.id] });
  assert.match(queued.message ?? '', new RegExp(`waiting for #${first.id} first \\(position 1\\)`));

  fake.release('first');
  await fake.running('second');
  assert.equal((await services.request('jobs.get', { id: first.id })).finished?.status, 'completed');
  assert.equal((await services.request('jobs.get', { id: third.id })).job.queuePosition, 1, 'the third moved up');
  assert.deepEqual(progressOf(events, third.id).at(-1)?.detail, { type: 'queue', position: 1, waitingFor: [second.id] });
  fake.release('second');
  fake.release('side');
  await fake.running('third');
  fake.release('third');
  assert.equal((await services.app.jobs.wait(third.id)).status, 'completed');
  assert.deepEqual(fake.started, ['first', 'side', 'second', 'third']);
});

test('with two cpu slots both cpu jobs run at once', async (t) => {
  const { services, fake } = servicesWithFake(t, { jobs: { lanes: { cpu: 2 } } });
  fake.scripts.push({ title: 'a', lane: 'cpu' }, { title: 'b', lane: 'cpu' });
  await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await Promise.all([fake.running('a'), fake.running('b')]);
  fake.release('a');
  fake.release('b');
});

test('a cancelled queued job never runs and its kind abandons it; a running one stops through its signal', async (t) => {
  const { services, fake, events } = servicesWithFake(t);
  fake.scripts.push({ title: 'running', lane: 'cpu' }, { title: 'waiting', lane: 'cpu' });
  const running = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  const waiting = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await fake.running('running');
  const cancelledWaiting = await services.request('jobs.cancel', { id: waiting.id });
  assert.equal(cancelledWaiting.cancelled, true);
  assert.equal(cancelledWaiting.job.status, 'cancelled');
  assert.deepEqual(fake.abandoned, [{ title: 'waiting', status: 'cancelled' }]);
  assert.equal(finishedOf(events, waiting.id)?.status, 'cancelled');

  assert.equal((await services.request('jobs.cancel', { id: running.id })).cancelled, true);
  const finished = await services.app.jobs.wait(running.id);
  assert.equal(finished.status, 'cancelled');
  assert.equal(finished.error, null);
  assert.deepEqual(fake.started, ['running'], 'the cancelled queued job never ran');
  assert.equal((await services.request('jobs.cancel', { id: running.id })).cancelled, false, 'an ended job is not cancelled again');
  assert.equal(getJob(services.app.db, running.id)?.status, 'cancelled');
});

test('a running job that ignores cancel is ended after its grace time, recorded cancelled with the reason', async (t) => {
  const { services, fake } = servicesWithFake(t);
  fake.scripts.push({ title: 'stubborn', lane: 'cpu', ignoresCancel: true }, { title: 'next', lane: 'cpu' });
  const stubborn = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await fake.running('stubborn');
  services.app.jobs.cancel(stubborn.id);
  const finished = await services.app.jobs.wait(stubborn.id);
  assert.equal(finished.status, 'cancelled');
  assert.equal(finished.error, 'did not stop in time and was ended');
  await fake.running('next');
  fake.release('next');
  fake.release('stubborn');
});

test('an exclusive key refuses a second active job with words', async (t) => {
  const { services, fake } = servicesWithFake(t);
  fake.scripts.push({ title: 'one', lane: 'io', exclusiveKey: 'k' }, { title: 'two', lane: 'io', exclusiveKey: 'k' });
  const one = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await assert.rejects(services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } }), (error: Error) => {
    assert.match(error.message, new RegExp(`"one" is already (running|waiting) \\(job ${one.id}\\)`));
    return true;
  });
  assert.deepEqual(fake.abandoned, [{ title: 'two', status: 'cancelled' }]);
  fake.release('one');
});

test('a second services on the same catalogue lists the running job with its progress and leaves it running', async (t) => {
  const first = servicesWithFake(t);
  first.fake.scripts.push({ title: 'long', lane: 'cpu', steps: [{ done: 3, total: 10, phase: 'processing' }] });
  const job = (await first.services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await first.fake.running('long');
  const second = servicesWithFake(t, { dir: first.dir });
  const listed = (await second.services.request('jobs.list', {})).jobs.find((j) => j.id === job.id);
  assert.equal(listed?.status, 'running');
  assert.equal(listed?.progress?.phase, 'processing');
  assert.equal(listed?.progress?.done, 3);
  assert.equal(listed?.owner.pid, process.pid);
  first.fake.release('long');
  assert.equal((await first.services.app.jobs.wait(job.id)).status, 'completed');
  assert.equal((await second.services.app.jobs.wait(job.id)).status, 'completed', 'the other services sees the end through the catalogue');
});

test('a dead process\'s job is failed as interrupted at startup; a live one holds the cpu slot until it exits', async (t) => {
  const first = servicesWithFake(t);
  const db = first.services.app.db;
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => {
    child.kill();
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  const liveOwner = `${hostname()}:${child.pid}:${bootTimeSeconds()}`;
  const held = insertJob(db, { kind: 'train', lane: 'cpu', title: 'Train elsewhere', input: {}, owner: liveOwner });
  markJobRunning(db, held);
  const dead = insertJob(db, { kind: 'train', lane: 'cpu', title: 'Train crashed', input: {}, owner: `${hostname()}:999999999:${bootTimeSeconds()}` });
  markJobRunning(db, dead);

  const second = servicesWithFake(t, { dir: first.dir });
  assert.equal(getJob(db, dead)?.status, 'failed');
  assert.match(getJob(db, dead)?.error ?? '', /interrupted/);
  assert.equal(getJob(db, held)?.status, 'running', 'a live process\'s job is not failed');

  second.fake.scripts.push({ title: 'mine', lane: 'cpu' });
  const mine = (await second.services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  assert.equal(mine.status, 'queued');
  assert.deepEqual(mine.progress?.detail, { type: 'queue', position: 1, waitingFor: [held] });
  child.kill();
  await second.fake.running('mine');
  second.fake.release('mine');
  assert.equal((await second.services.app.jobs.wait(mine.id)).status, 'completed');
});

test('cancelling another live process\'s job asks it; the owning runtime cancels it at its next poll', async (t) => {
  const owner = servicesWithFake(t);
  owner.fake.scripts.push({ title: 'owned', lane: 'io' });
  const job = (await owner.services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await owner.fake.running('owned');
  // A row that claims another live process: the test process's parent stands in for it.
  const other = servicesWithFake(t, { dir: owner.dir });
  owner.services.app.db.prepare('UPDATE jobs SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds()}`, job.id);
  const answer = await other.services.request('jobs.cancel', { id: job.id });
  assert.equal(answer.cancelled, true);
  assert.equal(answer.job.cancelRequested, true);
  assert.equal((await owner.services.app.jobs.wait(job.id)).status, 'cancelled');
});

test('closing the services cancels queued and running jobs', async (t) => {
  const { services, fake, events } = servicesWithFake(t, { jobs: { shutdownGraceMs: 100 } });
  fake.scripts.push({ title: 'run', lane: 'cpu', ignoresCancel: true }, { title: 'wait', lane: 'cpu' });
  const run = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  const wait = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await fake.running('run');
  await services.app.jobs.close();
  assert.equal(finishedOf(events, run.id)?.error, 'stopped because the app was closed');
  assert.equal(finishedOf(events, wait.id)?.status, 'cancelled');
  assert.equal(getJob(services.app.db, run.id)?.status, 'cancelled');
  fake.release('run');
});

test('jobs.start refuses on a read-only catalogue; jobs.list still answers', async (t) => {
  const first = servicesWithFake(t);
  await first.services.close();
  const { createServices } = await import('../../../electron/services/index');
  const { tempPaths } = await import('../../support/temp');
  const readonly = createServices({ paths: tempPaths(first.dir), host: { kind: 'web' }, readonly: true });
  t.after(() => readonly.close());
  assert.deepEqual((await readonly.request('jobs.list', {})).jobs, []);
  await assert.rejects(readonly.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } }), /read-only/);
});

test('progress: at most one event per interval, phase changes and the last step at once, the trailing value follows', async () => {
  let clock = 0;
  const emitted: JobProgress[] = [];
  const saved: JobProgress[] = [];
  const throttle = new ProgressThrottle({ id: 1, kind: 'import' }, 100, { emit: (p) => emitted.push(p), save: (p) => saved.push(p) }, () => clock);
  const step = (phase: string, done: number, total: number | null) => throttle.push({ phase, done, total, etaSeconds: null, message: null, detail: null });
  step('processing', 0, 100);
  clock = 10;
  step('processing', 10, 100);
  clock = 20;
  step('processing', 20, 100);
  assert.deepEqual(emitted.map((p) => p.done), [0], 'two steps inside the interval are held back');
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(emitted.map((p) => p.done), [0, 20], 'the last held value follows when the interval ends');
  assert.equal(emitted[1]!.etaSeconds, null, '20 ms of progress is too little to base an ETA on (eta.test.ts has the maths)');
  clock = 30;
  step('finishing', 20, 100);
  clock = 35;
  step('finishing', 100, 100);
  assert.deepEqual(emitted.map((p) => `${p.phase}:${p.done}`), ['processing:0', 'processing:20', 'finishing:20', 'finishing:100']);
  assert.deepEqual(saved.map((p) => `${p.phase}:${p.done}`), ['processing:0', 'finishing:20'], 'the catalogue copy is written at most once a second, and on a phase change');
  throttle.stop();
});

test('a job end whose catalogue write fails is still announced, answered by jobs.get, and written once the catalogue takes it', async (t) => {
  const { services, fake, events } = servicesWithFake(t, { jobs: { durableRetryMs: 50 } });
  const db = services.app.db;
  // A full disk, as SQLite would report it for this one write.
  db.exec(`CREATE TRIGGER jobs_full BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  fake.scripts.push({ title: 'unlucky', lane: 'io' });
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  fake.release('unlucky');
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'completed');
  assert.equal(finishedOf(events, job.id)?.status, 'completed', 'jobs.finished went out');
  assert.equal(getJob(db, job.id)?.status, 'running', 'not written yet');
  assert.equal((await services.request('jobs.get', { id: job.id })).finished?.status, 'completed');
  db.exec('DROP TRIGGER jobs_full');
  const deadline = Date.now() + 5000;
  while (getJob(db, job.id)?.status !== 'completed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(getJob(db, job.id)?.status, 'completed');
});

test('a long title does not break the queue message (events cap it at 500 characters)', async (t) => {
  const { services, fake, events } = servicesWithFake(t);
  const long = `Import /${'very-long-folder-name/'.repeat(30)}photos`;
  fake.scripts.push({ title: long, lane: 'cpu' }, { title: 'next', lane: 'cpu' });
  const first = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  const next = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  assert.equal(next.queuePosition, 1);
  const message = progressOf(events, next.id).at(-1)?.message ?? '';
  assert.ok(message.length <= 500, `${message.length} characters`);
  assert.match(message, new RegExp(`^waiting for #${first.id} Import /very-long.*… \\(position 1\\)$`));
  fake.release(long);
  fake.release('next');
});

test('a job left by a dead process is failed at startup and its kind\'s abandon runs', async (t) => {
  const { tempDir } = await import('../../support/temp');
  const { openDatabase } = await import('../../../electron/catalogue/database');
  const dir = tempDir('pawprint-jobs-');
  t.after(() => dir.cleanup());
  const db = openDatabase(catalogueIn(dir.path));
  const left = insertJob(db, { kind: 'download', lane: 'io', title: 'left behind', input: {}, owner: `${hostname()}:999999999:${bootTimeSeconds()}` });
  db.close();
  const { services, fake } = servicesWithFake(t, { dir: dir.path });
  assert.deepEqual(fake.abandoned, [{ title: `#${left}`, status: 'failed' }]);
  const { job, finished } = await services.request('jobs.get', { id: left });
  assert.equal(job.status, 'failed');
  assert.equal(finished?.error, 'interrupted (the Pawprint process running it stopped)');
});

test('a job still being prepared when the runtime closes is abandoned by its kind, not left queued for good', async (t) => {
  const { services, fake } = servicesWithFake(t);
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const prepare = fake.spec.prepare.bind(fake.spec);
  fake.spec.prepare = async (ctx, input) => {
    await gate;
    return prepare(ctx, input);
  };
  fake.scripts.push({ title: 'late', lane: 'cpu' });
  const starting = services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  const closing = services.app.jobs.close();
  openGate();
  await assert.rejects(starting, /closing/);
  await closing;
  assert.deepEqual(fake.abandoned, [{ title: 'late', status: 'cancelled' }]);
  assert.deepEqual(fake.started, []);
});
