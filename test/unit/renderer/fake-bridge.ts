// A stand-in for the Electron preload bridge, so the real stores (and the real transport.ts) run under Node: it
// answers each channel from a small in-memory catalogue, records every call, and lets a test emit host events.
// Install it (with the few window members the stores touch) before the first store is imported.
import { register } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../../../shared/errors';
import type {
  DatasetSummary, ImageItem, JobFinished, JobInfo, JobKind, JobProgress, LabelChange, RunSummary, SplitInfo,
} from '../../../shared/contract/index';

type Handler = (payload: never) => unknown;

export interface FakeCatalogue {
  datasets: DatasetSummary[];
  images: Map<number, ImageItem & { datasetId: number }>;
  runs: RunSummary[];
  splits: Array<SplitInfo & { datasetId: number }>;
  /** The job runtime's records (jobs.list/get/start/cancel answer from them). */
  jobs?: JobInfo[];
  /** Ended jobs' announcements, as jobs.get answers them. */
  finished?: Map<number, JobFinished>;
}

/** A job record as the runtime lists it; `progress` is its latest report (what a reloaded page first sees). */
export function jobInfo(id: number, kind: JobKind, status: JobInfo['status'], extra: Partial<JobInfo> = {}): JobInfo {
  return {
    id, kind, status, lane: kind === 'train' || kind === 'evaluate' || kind === 'export' ? 'cpu' : 'io', title: `${kind} job ${id}`,
    datasetId: null, runId: null, owner: { host: 'fake', pid: 1, thisProcess: true }, createdAt: '2026-01-01T00:00:00Z',
    startedAt: status === 'queued' ? null : '2026-01-01T00:00:01Z', finishedAt: null, queuePosition: null, cancelRequested: false,
    progress: null, error: null, ...extra,
  };
}

/** A train job's progress report at an epoch and batch, as the train kind sends it. */
export function trainProgress(id: number, runId: number, epoch: number, epochs: number, batch = 1, batches = 4): JobProgress {
  return {
    id, kind: 'train', phase: 'training', done: batch, total: batches, etaSeconds: 30, message: null,
    detail: {
      type: 'train', runId, stage: 'training', phase: 'train', epoch, epochs, batch, batches, loss: 0.5, accuracy: 0.7, imagesPerSecond: 12,
    },
  };
}

export function runSummary(id: number, datasetId: number, done: boolean): RunSummary {
  return {
    id, name: `run-${id}`, preset: 'cnn', status: done ? 'completed' : 'running', backend: 'cpu', datasetId, splitId: 1,
    bestEpoch: null, bestValAccuracy: null, testAccuracy: null, testLoss: null, epochsDone: 0, epochsPlanned: 2,
    durationMs: null, createdAt: `2026-01-0${id}T00:00:00Z`, startedAt: null, finishedAt: null, error: null,
    modelPath: done ? `/models/${id}` : null, notes: '', tags: [],
  };
}

export function splitInfo(id: number): SplitInfo {
  return {
    id, method: 'stratified', seed: id, trainFraction: 0.7, valFraction: 0.15, testFraction: 0.15, dataHash: `hash-${id}`,
    createdAt: `2026-01-0${id}T00:00:00Z`, counts: { train: 2, val: 1, test: 0 },
    perClass: { cat: { train: 1, val: 1, test: 0 }, dog: { train: 1, val: 0, test: 0 } },
  };
}

export class FakeBridge {
  readonly mediaBase = 'fake-media://';
  readonly calls: Array<{ channel: string; payload: unknown }> = [];
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly handlers: Record<string, Handler>;

  constructor(readonly catalogue: FakeCatalogue) {
    // Label writes follow electron/catalogue/labels.ts setLabels: a person's label is 'manual'; unchanged rows are skipped.
    const setLabels = (datasetId: number, wanted: Array<{ imageId: number; classId: number | null }>): { changes: LabelChange[] } => {
      const changes: LabelChange[] = [];
      for (const { imageId, classId } of wanted) {
        const image = catalogue.images.get(imageId);
        if (!image || image.datasetId !== datasetId) throw new Error(`Image ${imageId} is not in dataset ${datasetId}.`);
        if (image.classId === classId) continue;
        changes.push({ imageId, before: image.classId, after: classId, beforeSource: image.labelSource });
        image.classId = classId;
        image.labelSource = classId === null ? null : 'manual';
      }
      return { changes };
    };
    const row = ({ datasetId: _datasetId, ...item }: ImageItem & { datasetId: number }): ImageItem => ({ ...item });
    this.handlers = {
      'system.info': () => ({ host: 'fake', backend: 'cpu' }),
      'datasets.list': () => catalogue.datasets,
      'splits.list': ({ datasetId }: { datasetId: number }) =>
        catalogue.splits.filter((split) => split.datasetId === datasetId).map(({ datasetId: _datasetId, ...split }) => split),
      'images.sample': () => [],
      'images.query': ({ datasetId, offset, limit }: { datasetId: number; offset: number; limit: number }) => {
        const items = [...catalogue.images.values()].filter((image) => image.datasetId === datasetId).map(row);
        return { total: items.length, items: items.slice(offset, offset + limit) };
      },
      'images.detail': ({ imageId }: { imageId: number }) => {
        const image = catalogue.images.get(imageId)!;
        return { ...row(image), datasetId: image.datasetId };
      },
      'labels.assign': ({ datasetId, imageIds, classId }: { datasetId: number; imageIds: number[]; classId: number | null }) =>
        setLabels(datasetId, imageIds.map((imageId) => ({ imageId, classId }))),
      'labels.set': ({ datasetId, labels }: { datasetId: number; labels: Array<{ imageId: number; classId: number | null }> }) =>
        setLabels(datasetId, labels),
      // Undo: the classes come back with the sources the changes reported (as catalogue/labels.ts restoreLabels does).
      'labels.restore': ({ datasetId, labels }: { datasetId: number; labels: Array<{ imageId: number; classId: number | null; source: ImageItem['labelSource'] }> }) => {
        const answer = setLabels(datasetId, labels.map(({ imageId, classId }) => ({ imageId, classId })));
        for (const { imageId, classId, source } of labels) catalogue.images.get(imageId)!.labelSource = classId === null ? null : source;
        return answer;
      },
      'runs.list': () => ({ runs: [...catalogue.runs].sort((a, b) => b.id - a.id) }),
      'training.presets': () => ({ presets: [] }),
      'training.validateConfig': () => ({ ok: true, issues: [], layers: [], totalParams: 0 }),
      'runs.get': ({ runId }: { runId: number }) => {
        const run = catalogue.runs.find((candidate) => candidate.id === runId);
        if (!run) throw new Error(`Run ${runId} does not exist.`);
        return { ...run, epochs: [], log: [] };
      },
      'runs.log': () => ({ lines: [] }),
      'runs.exports': () => ({ exports: [] }),
      'images.byPath': ({ datasetId, relPath }: { datasetId: number; relPath: string }) => ({
        imageId: [...catalogue.images.values()].find((image) => image.datasetId === datasetId && image.relPath === relPath)?.id ?? null,
      }),
      'jobs.list': ({ active, kind, limit }: { active?: boolean; kind?: JobKind; limit?: number }) => ({
        jobs: (catalogue.jobs ?? [])
          .filter((job) => !active || job.status === 'queued' || job.status === 'running')
          .filter((job) => kind === undefined || job.kind === kind)
          .sort((a, b) => b.id - a.id)
          .slice(0, limit ?? 100),
      }),
      'jobs.get': ({ id }: { id: number }) => {
        const job = catalogue.jobs?.find((candidate) => candidate.id === id);
        if (!job) throw new Error(`No job ${id}`);
        return { job, finished: catalogue.finished?.get(id) ?? null };
      },
      'jobs.start': ({ kind, input }: { kind: JobKind; input: { datasetId?: number; name?: string } }) => {
        catalogue.jobs ??= [];
        const id = Math.max(0, ...catalogue.jobs.map((job) => job.id)) + 1;
        let runId: number | null = null;
        if (kind === 'train') {
          runId = Math.max(0, ...catalogue.runs.map((run) => run.id)) + 1;
          catalogue.runs.push({ ...runSummary(runId, input.datasetId ?? 1, false), status: 'queued', name: input.name ?? `run-${runId}` });
        }
        const job = jobInfo(id, kind, 'queued', { runId, datasetId: input.datasetId ?? null, title: `${kind} ${input.name ?? id}` });
        catalogue.jobs.push(job);
        return { job };
      },
      'jobs.cancel': ({ id }: { id: number }) => {
        const job = catalogue.jobs?.find((candidate) => candidate.id === id);
        if (!job) throw new Error(`No job ${id}`);
        const cancelled = job.status === 'queued' || job.status === 'running';
        if (cancelled) job.status = 'cancelled';
        return { job, cancelled };
      },
      'export.inspect': () => ({ classNames: [], imageSize: { height: 24, width: 24 } }),
    };
  }

  /** A subclass's own answer to a call, recorded like every other. */
  protected respond(channel: string, payload: unknown, value: unknown): Envelope<unknown> {
    this.calls.push({ channel, payload });
    return { ok: true, value: structuredClone(value) };
  }

  async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    this.calls.push({ channel, payload });
    const handler = this.handlers[channel];
    if (!handler) return { ok: false, error: { code: 'not-found', message: `the fake bridge has no channel ${channel}` } };
    try {
      return { ok: true, value: structuredClone(handler(payload as never)) };
    } catch (error) {
      return { ok: false, error: { code: 'not-found', message: (error as Error).message } };
    }
  }

  subscribe(event: string, listener: (payload: unknown) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return () => set.delete(listener);
  }

  emit(event: string, payload: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload);
  }

  count(channel: string): number {
    return this.calls.filter((call) => call.channel === channel).length;
  }
}

/** Puts the bridge where transport.ts looks for it, with the window members app.svelte.ts uses. */
export function installBridge(bridge: FakeBridge): void {
  Object.assign(globalThis, {
    window: { pawprintBridge: bridge, location: { hash: '', href: 'http://localhost/' }, addEventListener: () => undefined },
  });
}

let svelteHooks = false;

/** A renderer store module (renderer/src/stores/<file>.svelte.ts), compiled by the Svelte hooks (installed once). */
export async function loadStore(file: string): Promise<Record<string, unknown>> {
  if (!svelteHooks) {
    register('../../support/svelte-module-hooks.mjs', import.meta.url);
    svelteHooks = true;
  }
  return (await import(new URL(`../../../renderer/src/stores/${file}.svelte.ts`, import.meta.url).href)) as Record<string, unknown>;
}

/** Waits until `check` holds (stores answer asynchronously), or fails naming what it waited for. */
export async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}
