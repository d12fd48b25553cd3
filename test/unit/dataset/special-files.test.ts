import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import type { ImportOutcome } from '../../../electron/dataset/importer';
import { ensureThumbnail, thumbnailPath } from '../../../electron/dataset/thumbnails';
import { writeImage } from '../../support/images';
import { openServices } from './helpers';

const noFifos = process.platform === 'win32' && 'no FIFOs or /dev/zero on Windows';
// Only a failing run waits this long: the fixed code answers in milliseconds.
const LIMIT_MS = 30_000;

let ctx: ReturnType<typeof openServices>;

before(() => {
  ctx = openServices();
});
after(async () => ctx.close());

/**
 * Fails (instead of stalling the suite) when `work` is still waiting after LIMIT_MS; then it releases any reader parked
 * on the FIFOs by opening and closing their write end, so the blocked libuv thread returns and the process can exit.
 */
async function withinLimit<T>(what: string, fifos: string[], work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      for (const fifo of fifos) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // No reader is parked on this one.
        }
      }
      reject(new Error(`${what} did not finish within ${LIMIT_MS} ms (it waits on a FIFO or device)`));
    }, LIMIT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function newDataset(name: string): { root: string; datasetId: number } {
  const root = join(ctx.dir, name);
  mkdirSync(root);
  return { root, datasetId: createDataset(ctx.services.app.db, name, root, 'folders').id };
}

function importOnce(root: string, datasetId: number, afterScan?: Parameters<typeof runImport>[0]['afterScan']): Promise<ImportOutcome> {
  const db = ctx.services.app.db;
  return runImport({ db, datasetId, importId: startImportRow(db, datasetId), root, afterScan });
}

function rows(datasetId: number): Map<string, { status: string; reason: string | null }> {
  const all = ctx.services.app.db.prepare('SELECT rel_path, status, reason FROM images WHERE dataset_id = ?').all(datasetId) as {
    rel_path: string;
    status: string;
    reason: string | null;
  }[];
  return new Map(all.map((row) => [row.rel_path, { status: row.status, reason: row.reason }]));
}

test('a FIFO and a link to a character device are rejected with their kind, and the image beside them imports', { skip: noFifos }, async () => {
  const { root, datasetId } = newDataset('special');
  await writeImage(join(root, 'good.jpg'), { color: '#225588' });
  execFileSync('mkfifo', [join(root, 'x.jpg')]);
  symlinkSync('/dev/zero', join(root, 'z.jpg'));

  const outcome = await withinLimit('the import', [join(root, 'x.jpg')], importOnce(root, datasetId));
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  const found = rows(datasetId);
  assert.equal(found.get('good.jpg')?.status, 'ok');
  assert.deepEqual(found.get('x.jpg'), { status: 'rejected', reason: 'not a regular file (a named pipe (FIFO))' });
  assert.deepEqual(found.get('z.jpg'), { status: 'rejected', reason: 'not a regular file (a character device)' });
  assert.equal(outcome.counters.rejected, 2, 'both count in the import summary');
  assert.equal(outcome.counters.imported, 1);
});

test('a file swapped for a FIFO between the scan and the read is rejected, not waited on', { skip: noFifos }, async () => {
  const { root, datasetId } = newDataset('swapped');
  await writeImage(join(root, 'a.jpg'), { color: '#aa5522' });
  await writeImage(join(root, 'b.jpg'), { color: '#22aa55' });
  const swapped = join(root, 'b.jpg');

  const outcome = await withinLimit(
    'the import',
    [swapped],
    importOnce(root, datasetId, () => {
      rmSync(swapped);
      execFileSync('mkfifo', [swapped]);
    }),
  );
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  const found = rows(datasetId);
  assert.equal(found.get('a.jpg')?.status, 'ok');
  assert.equal(found.get('b.jpg')?.status, 'rejected');
  assert.match(found.get('b.jpg')?.reason ?? '', /not a regular file \(a named pipe \(FIFO\)\)/);
});

test('ensureThumbnail on a FIFO returns null at once and caches nothing', { skip: noFifos }, async () => {
  const fifo = join(ctx.dir, 'thumb-source.jpg');
  execFileSync('mkfifo', [fifo]);
  const directory = ctx.services.app.paths.thumbnails;
  const hash = 'ab'.repeat(32);
  assert.equal(await withinLimit('ensureThumbnail', [fifo], ensureThumbnail(directory, hash, fifo)), null);
  assert.equal(existsSync(thumbnailPath(directory, hash)), false);
});
