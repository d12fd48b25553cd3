import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDataset, startImportRow, importSummary } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import { thumbnailPath } from '../../../electron/dataset/thumbnails';
import { writeClassFolders } from '../../support/images';
import { importFolder, openServices } from './helpers';
import type { JobFinished } from '../../../shared/contract/jobs';

let ctx: ReturnType<typeof openServices>;
let root: string;

before(async () => {
  ctx = openServices();
  root = join(ctx.dir, 'many');
  await writeClassFolders(root, { cats: { count: 60, color: '#aa3311' }, dogs: { count: 60, color: '#1133aa' } }, { width: 320, height: 240 });
});
after(async () => ctx.close());

test('cancelling mid-import keeps every committed image complete and the rest untouched; a re-import finishes the job', async () => {
  const db = ctx.services.app.db;
  const datasetId = createDataset(db, 'many', root, 'folders').id;
  const importId = startImportRow(db, datasetId);
  const controller = new AbortController();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const outcome = await runImport({
    db,
    datasetId,
    importId,
    root,
    signal: controller.signal,
    // Small batches, so the first commit is part of the folder however fast this machine decodes.
    batchSize: 16,
    afterBatch: () => controller.abort(),
  });
  delay.disable();
  assert.equal(outcome.status, 'cancelled');
  assert.equal(importSummary(db, importId).status, 'cancelled');
  const rows = db.prepare('SELECT id, status, content_hash FROM images WHERE dataset_id = ?').all(datasetId) as Array<{ id: number; status: string; content_hash: string }>;
  assert.ok(rows.length > 0 && rows.length < 120, `part of the folder was committed (${rows.length})`);
  for (const row of rows) {
    assert.equal(row.status, 'ok');
    assert.match(row.content_hash, /^[0-9a-f]{64}$/);
    assert.ok(db.prepare('SELECT 1 FROM labels WHERE image_id = ?').get(row.id), 'and its folder label');
  }
  // Thumbnails are made on request and cached by content hash.
  const thumb = await ctx.services.app.media.resolve('thumb', String(rows[0]!.id));
  assert.equal(thumb?.path, thumbnailPath(ctx.services.app.paths.thumbnails, rows[0]!.content_hash));
  assert.ok(existsSync(thumb.path));
  // Decoding runs on sharp's threads; the event loop never stalls for long (the UI stays responsive).
  assert.ok(delay.max / 1e6 < 500, `event loop blocked for ${(delay.max / 1e6).toFixed(0)} ms`);

  const finished = await importFolder(ctx.services, root);
  assert.equal(finished.datasetId, datasetId);
  assert.equal(finished.imported + finished.unchanged, 120);
  assert.equal(finished.unchanged, rows.length);
  assert.deepEqual(finished.classes, { cats: 60, dogs: 60 });
});

test('cancel through the contract', async () => {
  const finished = new Map<number, JobFinished>();
  const stop = ctx.services.app.events.onAny((name, payload) => {
    if (name === 'jobs.finished') finished.set((payload as JobFinished).id, payload as JobFinished);
  });
  try {
    const { job } = await ctx.services.request('jobs.start', { kind: 'import', input: { path: root } });
    const cancelled = await ctx.services.request('jobs.cancel', { id: job.id });
    for (let i = 0; i < 200 && !finished.has(job.id); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    // An unchanged folder may finish before the cancel arrives; either way the import ends and says how.
    const end = finished.get(job.id);
    const expected = cancelled.cancelled ? 'cancelled' : 'completed';
    assert.deepEqual([end?.status, end?.kind === 'import' ? end.result?.status : null], [expected, expected]);
    assert.equal((await ctx.services.request('jobs.cancel', { id: job.id })).cancelled, false);
  } finally {
    stop();
  }
});
