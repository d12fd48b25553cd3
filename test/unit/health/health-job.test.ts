import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { embedHealthTask } from '../../../electron/health/worker/embed-task';
import { inProcessWorker } from '../../support/in-process-worker';
import { tempDir, tempPaths } from '../../support/temp';
import { testBase, writeHealthDataset } from './fixtures';

// The health job end to end on generated pictures, with the real embed-health task run in this process (the real
// worker process is covered by cli.slow.test.ts): the planted flip is the top label issue with the right suggestion,
// duplicate groups name real images with their split subsets, the report is stored with the labels' fingerprint and reads as stale
// after a relabel.

const base = testBase();
const skip = base === null ? 'needs the bundled base (resources/models) or ../shared/models' : false;
const dir = tempDir();
after(() => dir.cleanup());

async function setUp(name: string) {
  const fixture = await writeHealthDataset(join(dir.path, name, 'shapes'));
  const worker = inProcessWorker({ 'embed-health': embedHealthTask });
  const services = createServices({ paths: tempPaths(join(dir.path, name)), host: { kind: 'web' }, jobs: { workers: worker, progressIntervalMs: 0 } });
  const imported = await services.app.jobs.start({ kind: 'import', input: { path: fixture.root } });
  const end = await services.app.jobs.wait(imported.job.id);
  assert.equal(end.status, 'completed');
  const datasetId = end.kind === 'import' ? end.result!.datasetId : 0;
  await services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 3 });
  return { fixture, services, datasetId, worker };
}

test('health finds the planted flip, stores the report, and reads stale after a relabel', { skip }, async () => {
  const { fixture, services, datasetId, worker } = await setUp('job');
  try {
    const phases = new Set<string>();
    services.app.events.onAny((name, payload) => {
      if (name === 'jobs.progress') phases.add((payload as { phase: string }).phase);
    });
    assert.deepEqual((await services.request('health.latest', { datasetId })).report, null);
    const { jobId } = await services.request('health.run', { datasetId, base: base! });
    const end = await services.app.jobs.wait(jobId);
    assert.equal(end.status, 'completed', end.error ?? '');
    assert.ok(phases.has('features') && phases.has('analysing'), `phases ${[...phases]}`);
    assert.equal(worker.calls.length, 1);

    const { report } = await services.request('health.latest', { datasetId });
    assert.ok(report);
    assert.equal(report.stale, false);
    assert.equal(report.imageCount, 37);
    const rel = (p: string) => p.slice(fixture.root.length + 1);
    const top = report.labelIssues[0];
    assert.equal(rel(top.image.path), fixture.flipped, `top issue ${rel(top.image.path)}; all ${report.labelIssues.map((i) => rel(i.image.path))}`);
    assert.equal(top.given, 'squares');
    assert.equal(top.suggested, 'circles');
    // Generated pictures are more alike than photos (the threshold is calibrated on photos in bench/health.ts, the
    // grouping on planted embeddings in analysis.test.ts): here the groups must name real images with their subsets.
    const byPath = new Map(report.labelIssues.map((issue) => [issue.image.path, issue.image]));
    for (const group of report.nearDuplicates) {
      assert.ok(group.images.length >= 2);
      for (const image of group.images) assert.ok(image.path.startsWith(fixture.root) && image.subset !== null && image.label !== null);
      assert.equal(group.crossesSplits, new Set(group.images.map((image) => image.subset)).size > 1);
      for (const image of group.images) if (byPath.has(image.path)) assert.equal(byPath.get(image.path)!.imageId, image.imageId);
    }
    assert.equal(report.classes.find((c) => c.name === 'squares')?.count, 19);
    // The counts are confident learning's flags; the list may go on with unflagged suspects, all ranked by score.
    assert.equal(top.flagged, true);
    assert.equal(report.counts.labelIssues, report.labelIssues.filter((issue) => issue.flagged).length);
    // The map has every image once, with finite coordinates, for the Health view's scatter.
    assert.deepEqual(report.map?.map((p) => p.imageId).sort((a, b) => a - b), (await services.request('images.ids', { datasetId })).sort((a, b) => a - b));
    assert.ok(report.map!.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) && new Set(report.map!.map((p) => p.x)).size > 1);
    assert.equal(report.mapMethod, 'umap', '37 images: a UMAP map');

    // Accept the suggestion: the report is kept but now stale, and says why.
    const { classes } = await services.request('datasets.get', { datasetId });
    const circles = classes.find((c) => c.name === 'circles')!;
    await services.request('labels.set', { datasetId, labels: [{ imageId: top.image.imageId, classId: circles.id }] });
    const after = (await services.request('health.latest', { datasetId })).report!;
    assert.equal(after.stale, true);
    assert.match(after.staleReason ?? '', /1 of its suspected mislabels relabelled/);
    assert.equal(after.labelIssues[0].image.label, 'circles');
    assert.equal(after.labelIssues[0].given, 'squares');

    // A second run on the new labels is fresh again and reads the embeddings from the cache.
    const again = await services.app.jobs.wait((await services.request('health.run', { datasetId, base: base! })).jobId);
    assert.equal(again.status, 'completed');
    const fresh = (await services.request('health.latest', { datasetId })).report!;
    assert.equal(fresh.stale, false);
    assert.equal(fresh.features.computed, 0);
    assert.equal(fresh.features.fromCache, 37);
    // The same images, base and seed: the map (which depends on the embeddings alone) is reused, not drawn again.
    assert.equal(worker.calls.length, 2);
    const sentMap = (worker.calls[1]!.input as { map?: { points: unknown[]; method: string } | null }).map;
    assert.equal(sentMap?.method, 'umap', 'the second run was given the first one\'s map');
    assert.equal(fresh.mapMethod, 'umap');
    assert.deepEqual(fresh.map?.map(({ imageId, x, y }) => [imageId, x, y]), report.map?.map(({ imageId, x, y }) => [imageId, x, y]));
    assert.ok(!fresh.labelIssues.some((issue) => rel(issue.image.path) === fixture.flipped && issue.given === 'squares'));
  } finally {
    await services.close();
  }
});

test('refusals come before anything is queued, in one line', { skip }, async () => {
  const { services, datasetId } = await setUp('refusals');
  try {
    await assert.rejects(services.request('health.run', { datasetId, base: join(dir.path, 'no-such-base') }), /the base .*no-such-base does not exist/);
    await assert.rejects(services.request('health.run', { datasetId: 999 }), /not-found|does not exist|999/);
    await assert.rejects(services.request('health.run', { datasetId, folds: 1 }), /folds|invalid|>=2|too_small/i);
    assert.equal(services.app.jobs.list({ kind: 'health' }).length, 0);
  } finally {
    await services.close();
  }
});

test('a health job cancelled while embedding ends cancelled and stores no report', { skip }, async () => {
  const { services, datasetId } = await setUp('cancel');
  try {
    let jobId = 0;
    services.app.events.onAny((name, payload) => {
      const progress = payload as { id: number; phase: string };
      if (name === 'jobs.progress' && progress.id === jobId && progress.phase === 'features') services.app.jobs.cancel(jobId);
    });
    jobId = (await services.request('health.run', { datasetId, base: base! })).jobId;
    const end = await services.app.jobs.wait(jobId);
    assert.equal(end.status, 'cancelled');
    assert.equal((await services.request('health.latest', { datasetId })).report, null);
  } finally {
    await services.close();
  }
});

test('unlabelled images get suggested labels from the embeddings, least certain first; labelled ones drop out', { skip }, async () => {
  const { fixture, services, datasetId } = await setUp('suggest');
  try {
    assert.deepEqual(await services.request('health.suggestions', { datasetId }), { source: null, reportId: null, stale: false, suggestions: [], embeddings: false, run: null });
    // Unlabel three of each class (not the planted flip or copy): their true class is their folder.
    const ids = await services.request('images.ids', { datasetId });
    const details = await Promise.all(ids.map((imageId) => services.request('images.detail', { imageId })));
    const chosen = ['circles', 'squares'].flatMap((cls) => details.filter((d) => d.relPath.startsWith(`${cls}/`) && d.relPath !== fixture.flipped && !d.relPath.includes('copy')).slice(2, 5));
    await services.request('labels.set', { datasetId, labels: chosen.map((d) => ({ imageId: d.id, classId: null })) });
    const { jobId } = await services.request('health.run', { datasetId, base: base! });
    assert.equal((await services.app.jobs.wait(jobId)).status, 'completed');

    const answer = await services.request('health.suggestions', { datasetId });
    assert.equal(answer.source, 'embeddings');
    assert.equal(answer.stale, false);
    assert.equal(answer.embeddings, true);
    assert.equal(answer.run, null, 'no run trained on this dataset');
    assert.deepEqual(answer.suggestions.map((s) => s.image.imageId).sort((a, b) => a - b), chosen.map((d) => d.id).sort((a, b) => a - b));
    for (const s of answer.suggestions) assert.equal(s.suggested, s.image.relPath.split('/')[0], `${s.image.relPath} suggested ${s.suggested}`);
    for (let i = 1; i < answer.suggestions.length; i++) assert.ok(answer.suggestions[i - 1].margin <= answer.suggestions[i].margin, 'least certain first');

    // Labelling one takes it off the list (and makes the report stale).
    const first = answer.suggestions[0];
    const classId = (await services.request('datasets.get', { datasetId })).classes.find((c) => c.name === first.suggested)!.id;
    await services.request('labels.set', { datasetId, labels: [{ imageId: first.image.imageId, classId }] });
    const after = await services.request('health.suggestions', { datasetId });
    assert.equal(after.stale, true);
    assert.deepEqual(after.suggestions.map((s) => s.image.imageId), answer.suggestions.slice(1).map((s) => s.image.imageId));
  } finally {
    await services.close();
  }
});
