// The health store against a fake preload bridge (test/unit/renderer/fake-bridge.ts) that, like the real services,
// announces datasets.changed when labels change: an accepted suggestion reads the health report (or the suggestions)
// once, not once for the fix and again for the event it causes; and the Label view's suggestion source is chosen
// and the latest run's predictions are asked for and shown when their job ends.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBridge, installBridge, jobInfo } from '../renderer/fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { ClassInfo, HealthLabelIssue, HealthReport, HealthSuggestion, HealthSuggestions } from '../../../shared/contract/index';

const classes: ClassInfo[] = [
  { id: 10, name: 'cat', color: '#f00', position: 0, count: 2 },
  { id: 11, name: 'dog', color: '#00f', position: 1, count: 1 },
];
const image = (id: number, relPath: string, label: string | null) => ({ imageId: id, relPath, path: `/photos/pets/${relPath}`, label, subset: null });

function report(): HealthReport {
  return {
    id: 1, datasetId: 1, jobId: null, createdAt: '2026-01-01T00:00:00Z', stale: false, staleReason: null, labelsFingerprint: 'f',
    base: { weightsId: 'w', alpha: 0.35, source: 'test' }, folds: 5, seed: 42, imageCount: 4, labelledCount: 3,
    counts: { labelIssues: 1, nearDuplicateGroups: 0, nearDuplicateImages: 0, leakingGroups: 0, outliers: 0 },
    labelIssues: [{ image: image(101, 'cat/101.jpg', 'cat'), given: 'cat', suggested: 'dog', score: 0.9, selfConfidence: 0.1, flagged: true }],
    map: null, mapMethod: null, nearDuplicates: [], outliers: [], classes: [], imbalanceRatio: null, outOfFoldAccuracy: null,
    duplicateThreshold: 0.87, outlierThreshold: 0, seconds: { features: 0, head: 0, similarity: 0, total: 0 }, features: { fromCache: 0, computed: 0 },
  };
}

/** The fake bridge plus the health channels, and datasets.changed after a label write or exclusion, as the services send it. */
class HealthBridge extends FakeBridge {
  sources: Array<string | undefined> = [];
  predicted = false;
  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    const ok = (value: unknown): Envelope<unknown> => ({ ok: true, value: structuredClone(value) });
    const datasetId = (payload as { datasetId?: number }).datasetId;
    if (channel === 'health.latest') {
      this.calls.push({ channel, payload });
      return ok({ report: report() });
    }
    if (channel === 'health.excluded') {
      this.calls.push({ channel, payload });
      return ok({ images: [] });
    }
    if (channel === 'health.suggestions') {
      this.calls.push({ channel, payload });
      const source = (payload as { source?: 'embeddings' | 'run' }).source;
      this.sources.push(source);
      const unlabelled = [...this.catalogue.images.values()].filter((i) => i.classId === null);
      const fromRun = source === 'run' || (source === undefined && this.predicted);
      const answer: HealthSuggestions = {
        source: fromRun ? (this.predicted ? 'run' : null) : 'embeddings', reportId: 1, stale: false, embeddings: true,
        run: { runId: 7, name: 'tiny', predicted: this.predicted ? unlabelled.length : null },
        suggestions: fromRun && !this.predicted ? [] : unlabelled.map((i) => ({ image: image(i.id, i.relPath, null), suggested: fromRun ? 'cat' : 'dog', confidence: 0.7, margin: 0.4 })),
      };
      return ok(answer);
    }
    if (channel === 'health.predictUnlabelled') {
      this.calls.push({ channel, payload });
      const id = 50;
      this.catalogue.jobs!.push(jobInfo(id, 'predict', 'running', { runId: 7 }));
      return ok({ jobId: id, runId: 7, images: 1, unlabelled: 1 });
    }
    const answer = await super.invoke(channel, payload);
    if (answer.ok && (channel === 'labels.assign' || channel === 'labels.set' || channel === 'labels.restore')) this.emit('datasets.changed', { datasetId });
    return answer;
  }
}

const bridge = new HealthBridge({
  datasets: [{
    id: 1, name: 'pets', rootPath: '/photos/pets', layout: 'folders', createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
    counts: { ok: 4, rejected: 0, duplicate: 0, missing: 0, labelled: 3, unlabelled: 1 }, classes, latestSplit: null,
  }],
  images: new Map([101, 102, 103, 104].map((id, i) => [id, {
    id, datasetId: 1, relPath: `${i < 2 ? 'cat' : 'dog'}/${id}.jpg`, status: 'ok' as const, reason: null,
    classId: i === 3 ? null : i < 2 ? 10 : 11, labelSource: i === 3 ? null : 'folder' as const, subset: null, width: 32, height: 32,
  }])),
  runs: [], splits: [], jobs: [], finished: new Map(),
});
installBridge(bridge);

// The members used here; loaded by a computed specifier so the Node type check does not follow the stores.
interface HealthStoreApi {
  report: HealthReport | null;
  suggestions: (HealthSuggestions & { datasetId: number }) | null;
  predictJobId: number | null;
  load(): Promise<void>;
  loadSuggestions(): Promise<void>;
  acceptSuggestion(issue: HealthLabelIssue): Promise<void>;
  acceptLabelSuggestion(suggestion: HealthSuggestion): Promise<boolean>;
  chooseSuggestionSource(source: 'embeddings' | 'run'): Promise<void>;
  predictUnlabelled(): Promise<void>;
  undo(): Promise<void>;
}
let health: HealthStoreApi;
let datasets: { currentId: number | null; classes: ClassInfo[] };

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  const load = async (file: string) => (await import(new URL(`../../../renderer/src/stores/${file}.svelte.ts`, import.meta.url).href)) as Record<string, unknown>;
  datasets = (await load('datasets')).datasetStore as typeof datasets;
  health = (await load('health')).healthStore as HealthStoreApi;
  for (let i = 0; i < 100 && (datasets.currentId === null || datasets.classes.length === 0); i++) await sleep(10);
  assert.equal(datasets.currentId, 1);
});

/** Calls of a channel made while `act` runs and for 400 ms after (past the store's 150 ms event debounce). */
async function callsDuring(channel: string, act: () => Promise<unknown>): Promise<number> {
  await sleep(400);
  const before = bridge.count(channel);
  await act();
  await sleep(400);
  return bridge.count(channel) - before;
}

test('accepting a suspected mislabel\'s suggestion in the Health view reads the report once', async () => {
  await health.load();
  const issue = health.report!.labelIssues[0]!;
  const loads = await callsDuring('health.latest', () => health.acceptSuggestion(issue));
  assert.equal(bridge.catalogue.images.get(101)!.classId, 11, 'relabelled to the suggestion');
  assert.equal(loads, 1, 'one health.latest per accepted suggestion');
  // Undo is a fix too: one read.
  assert.equal(await callsDuring('health.latest', () => health.undo()), 1);
  assert.equal(bridge.catalogue.images.get(101)!.classId, 10);
});

test('accepting a suggested label in the Label view reads the suggestions once and the shown report once', async () => {
  await health.load();
  await health.loadSuggestions();
  const suggestion = health.suggestions!.suggestions[0]!;
  assert.equal(suggestion.image.imageId, 104);
  let reports = 0;
  const reads = await callsDuring('health.suggestions', async () => {
    reports = await callsDuring('health.latest', () => health.acceptLabelSuggestion(suggestion));
  });
  assert.equal(bridge.catalogue.images.get(104)!.classId, 11);
  assert.equal(reads, 1, 'one health.suggestions per accepted suggestion');
  assert.equal(reports, 1, 'one health.latest (the Health view\'s report was loaded)');
  assert.deepEqual(health.suggestions!.suggestions, [], 'the labelled image left the list');
  // Put it back for the next test.
  bridge.catalogue.images.get(104)!.classId = null;
});

test('the Label view chooses the run as source, asks the run to predict, and shows its suggestions when the job ends', async () => {
  await health.loadSuggestions();
  assert.equal(health.suggestions!.source, 'embeddings');
  await health.chooseSuggestionSource('run');
  assert.equal(bridge.sources.at(-1), 'run');
  assert.equal(health.suggestions!.source, null, 'not predicted yet');
  assert.equal(health.suggestions!.run?.predicted, null);
  await health.predictUnlabelled();
  assert.equal(health.predictJobId, 50);
  bridge.predicted = true;
  const job = bridge.catalogue.jobs!.find((j) => j.id === 50)!;
  job.status = 'completed';
  const reads = await callsDuring('health.suggestions', async () => {
    bridge.emit('jobs.finished', { id: 50, kind: 'predict', status: 'completed', result: null, error: null });
  });
  assert.equal(reads, 1);
  assert.equal(health.predictJobId, null);
  assert.equal(health.suggestions!.source, 'run');
  assert.deepEqual(health.suggestions!.suggestions.map((s) => [s.image.imageId, s.suggested]), [[104, 'cat']]);
  assert.equal(bridge.sources.at(-1), 'run', 'the chosen source is asked for again');
});
