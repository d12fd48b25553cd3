import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import { writeManyTinyFiles } from '../../support/bad-input-corpus';
import { openServices } from './helpers';

// The corpus's scale case, in a file of its own: it takes a minute or more on two cores.
let ctx: ReturnType<typeof openServices>;
before(() => {
  ctx = openServices();
});
after(async () => ctx.close());

test('12,000 files in one folder import without hanging, each catalogued once', { timeout: 300_000 }, async () => {
  const db = ctx.services.app.db;
  const root = join(ctx.dir, 'many');
  const count = 12_000;
  await writeManyTinyFiles(join(root, 'things'), count);
  const datasetId = createDataset(db, 'many', root, 'folders').id;
  const outcome = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  const counts = db.prepare(`SELECT status, COUNT(*) AS n FROM images WHERE dataset_id = ? GROUP BY status`).all(datasetId) as Array<{ status: string; n: number }>;
  assert.deepEqual(counts, [{ status: 'ok', n: count }]);
  const rescan = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  assert.equal(rescan.counters.unchanged, count);
});
