// The jobs store over the browser host's transport (renderer/src/lib/web-transport.ts, the real one) with a fake
// WebSocket that answers from the fake bridge's catalogue: when the socket drops and comes back, the store reloads the
// jobs, so a run that ended meanwhile shows its end and a job started meanwhile (the CLI) shows with its progress.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBridge, jobInfo, runSummary, splitInfo, trainProgress } from './fake-bridge';
import type { JobInfo } from '../../../shared/contract/index';

const bridge = new FakeBridge({
  datasets: [],
  images: new Map(),
  runs: [runSummary(2, 1, false), { ...runSummary(3, 1, false), status: 'queued' }],
  splits: [{ ...splitInfo(3), datasetId: 1 }],
  jobs: [jobInfo(7, 'train', 'running', { runId: 2, title: 'Train run-2 on pets', progress: trainProgress(7, 2, 2, 5) })],
  finished: new Map(),
});

/** A browser WebSocket stand-in: requests go to the fake bridge, answers and events come back as socket messages. */
class FakeWebSocket {
  static readonly OPEN = 1;
  static sockets: FakeWebSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.sockets.push(this);
    setTimeout(() => {
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.();
    }, 0);
  }

  send(data: string): void {
    const { id, channel, payload } = JSON.parse(data) as { id: number; channel: string; payload: unknown };
    void bridge.invoke(channel, payload).then((result) => this.deliver({ id, result }));
  }

  deliver(message: unknown): void {
    if (this.readyState === FakeWebSocket.OPEN) this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

Object.assign(globalThis, {
  WebSocket: FakeWebSocket,
  window: { location: { hash: '', href: 'http://127.0.0.1:4100/0123abcd/' }, addEventListener: () => undefined },
});

interface Stores {
  jobs: { get(id: number): JobInfo | undefined; ready(): Promise<void>; trainFigures(job: JobInfo | undefined): { epoch: number } | null };
  training: { init(): Promise<void>; watchedRunId: number | null; watchedStatus: string | null; readonly watchedJob: JobInfo | null };
  app: { error: string | null; connection: string };
}
let stores: Stores;

async function store<T>(file: string, name: string): Promise<T> {
  const module = (await import(new URL(`../../../renderer/src/stores/${file}.svelte.ts`, import.meta.url).href)) as Record<string, T>;
  return module[name]!;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  stores = {
    jobs: await store<Stores['jobs']>('jobs', 'jobsStore'),
    training: await store<Stores['training']>('training', 'trainingStore'),
    app: await store<Stores['app']>('app', 'appStore'),
  };
});

test('after the socket drops and reconnects, a run that ended meanwhile shows its end and a job started meanwhile shows its progress', async () => {
  const { jobs, training } = stores;
  await training.init();
  assert.equal(training.watchedRunId, 2);
  assert.equal(training.watchedJob?.id, 7);

  // The connection drops; meanwhile run 2 completes and run 3 (started from the CLI) trains.
  const listsBefore = bridge.count('jobs.list');
  FakeWebSocket.sockets.at(-1)!.drop();
  const job7 = bridge.catalogue.jobs![0]!;
  job7.status = 'completed';
  job7.finishedAt = '2026-01-01T00:05:00Z';
  bridge.catalogue.finished!.set(7, {
    id: 7, kind: 'train', status: 'completed', error: null,
    result: { runId: 2, status: 'completed', bestEpoch: 5, bestValAccuracy: 0.9, testAccuracy: 0.8, testLoss: 0.3, modelPath: '/models/2' },
  });
  bridge.catalogue.jobs!.push(jobInfo(8, 'train', 'running', { runId: 3, title: 'Train run-3 on pets', progress: trainProgress(8, 3, 1, 4) }));
  assert.equal(jobs.get(7)?.status, 'running', 'nothing has told the page yet');

  // The transport reconnects by itself (after 250 ms) and the store reloads the jobs.
  await until('the jobs are listed again', () => bridge.count('jobs.list') > listsBefore && jobs.get(8) !== undefined, 3000);
  await until('the ended run is recovered', () => jobs.get(7)?.status === 'completed', 3000);
  assert.equal(training.watchedStatus, 'completed', 'the Train view shows how the watched run ended');
  assert.equal(training.watchedJob, null);
  assert.equal(jobs.trainFigures(jobs.get(8))?.epoch, 1, "the CLI's run shows at its reported epoch");
  assert.equal(stores.app.connection, 'open');
  assert.equal(stores.app.error, null);
});
