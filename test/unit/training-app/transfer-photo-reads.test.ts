import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Services } from '../../../electron/services/index';
import { openTransferFixture, recordEvents, startTrain } from './fixtures';

// Feature extraction reads each photo once for its plain and augmented views. Taken view by view (every photo, then
// every photo again per view), a training set larger than the worker's memory cache was read back from the disk
// cache and hashed once per view: at 20,000 photos the scale bench's cold mobilenetv2 epoch did five reads per photo.
// 30 training photos x 5 views + 18 others = 168 features, 6 batches of 32: more than the lanes hold in flight, so
// the reads within concurrent loads that the decode map shares do not hide the order.
let dir: Awaited<ReturnType<typeof openTransferFixture>>['dir'];
let services: Services;
let datasetId: number;
let splitId: number;
let baseDir: string;

before(async () => {
  ({ dir, services, datasetId, splitId, baseDir } = await openTransferFixture('pawprint-photo-reads-', { perClass: 24 }));
});
after(async () => {
  await services.close();
  dir.cleanup();
});

test('a cold feature extraction reads each photo about once, whatever the number of views', async () => {
  const events = recordEvents(services);
  const config = {
    preset: 'mobilenetv2', imageSize: { height: 96, width: 96 }, epochs: 1, batchSize: 8, backend: 'wasm', seed: 5,
    augmentation: { flip: 'horizontal', rotation: 0.1 }, mobilenet: { alpha: 0.35, headPooling: 'max', baseSource: baseDir, augmentedViews: 4 },
  };
  const done = await (await startTrain(services, { datasetId, splitId, config })).finished;
  assert.equal(done.status, 'completed', done.error ?? '');
  const logs = events.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
  const line = logs.map((l) => /base features: 0 from the cache, (\d+) computed on \d+ threads? from (\d+) photo reads/.exec(l)).find((m) => m !== null);
  assert.ok(line, logs.join('\n'));
  const count = (subsets: string) => (services.app.db.prepare(`SELECT count(*) AS n FROM split_assignments WHERE split_id = ? AND subset IN (${subsets})`).get(splitId) as { n: number }).n;
  const photos = count("'train', 'val', 'test'");
  const features = count("'train'") * 5 + count("'val', 'test'");
  assert.equal(Number(line[1]), features);
  const batches = Math.ceil(features / 32);
  assert.ok(batches >= 5, `${batches} batches`);
  // A batch boundary can split one photo's views between two loads.
  assert.ok(Number(line[2]) <= photos + batches, `${line[2]} photo reads for ${photos} photos in ${batches} batches`);
});
