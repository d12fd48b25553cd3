import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import { writeBadInputCorpus } from '../../support/bad-input-corpus';
import type { Corpus } from '../../support/bad-input-corpus';
import { writeImage } from '../../support/images';
import { openServices } from './helpers';

let ctx: ReturnType<typeof openServices>;

before(() => {
  ctx = openServices();
});
after(async () => ctx.close());

interface Row {
  id: number;
  rel_path: string;
  status: string;
  reason: string | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  color_space: string | null;
  has_alpha: number | null;
}

/** Fails instead of stalling the suite when something hangs (a FIFO read, a lock). */
function withinSeconds<T>(seconds: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

test('every input of the regression corpus gets its outcome, nothing hangs and nothing stored is lost', { timeout: 180_000 }, async () => {
  const db = ctx.services.app.db;
  const root = join(ctx.dir, 'corpus');
  // What is already stored before the corpus arrives: two images, one relabelled by hand.
  await writeImage(join(root, 'cats/stored.jpg'), { color: '#aa2200', variant: 90 });
  await writeImage(join(root, 'dogs/stored.jpg'), { color: '#0022aa', variant: 91 });
  const datasetId = createDataset(db, 'corpus', root, 'folders').id;
  const importOnce = (afterScan?: () => void) =>
    withinSeconds(120, 'the import', runImport({ db, datasetId, importId: startImportRow(db, datasetId), root, afterScan }));
  assert.equal((await importOnce()).status, 'completed');
  const storedId = (db.prepare(`SELECT id FROM images WHERE rel_path = 'cats/stored.jpg'`).get() as { id: number }).id;
  const dogsId = (db.prepare(`SELECT id FROM classes WHERE dataset_id = ? AND name = 'dogs'`).get(datasetId) as { id: number }).id;
  await ctx.services.request('labels.assign', { datasetId, imageIds: [storedId], classId: dogsId });

  const corpus: Corpus = await writeBadInputCorpus(root, join(ctx.dir, 'outside'));
  const outcome = await importOnce(corpus.afterScan);
  assert.equal(outcome.status, 'completed', outcome.error ?? '');

  const rows = new Map((db.prepare('SELECT * FROM images WHERE dataset_id = ?').all(datasetId) as Row[]).map((row) => [row.rel_path, row]));
  const problems: string[] = [];
  for (const entry of corpus.entries) {
    const row = rows.get(entry.relPath);
    const got = row ? `${row.status}${row.reason ? `: ${row.reason}` : ''}` : 'absent';
    const expected = entry.expected;
    const fine =
      expected.status === 'absent'
        ? !row
        : expected.status === 'rejected'
          ? row?.status === 'rejected' && expected.reason.test(row.reason ?? '')
          : row?.status === expected.status;
    if (!fine) problems.push(`${entry.what} (${JSON.stringify(entry.relPath)}): expected ${expected.status}${expected.status === 'rejected' ? ` ${expected.reason}` : ''}, got ${got}`);
    if (fine && expected.status === 'ok' && expected.check && row) {
      const { width, height, channels, colorSpace, hasAlpha } = expected.check;
      if (width !== undefined && row.width !== width) problems.push(`${entry.what}: width ${row.width}, expected ${width}`);
      if (height !== undefined && row.height !== height) problems.push(`${entry.what}: height ${row.height}, expected ${height}`);
      if (channels !== undefined && row.channels !== channels) problems.push(`${entry.what}: ${row.channels} channels, expected ${channels}`);
      if (colorSpace !== undefined && row.color_space !== colorSpace) problems.push(`${entry.what}: colour space ${row.color_space}, expected ${colorSpace}`);
      if (hasAlpha !== undefined && Boolean(row.has_alpha) !== hasAlpha) problems.push(`${entry.what}: alpha ${row.has_alpha}`);
    }
  }
  assert.deepEqual(problems, []);
  const known = new Set([...corpus.entries.map((entry) => entry.relPath), 'cats/stored.jpg', 'dogs/stored.jpg']);
  assert.deepEqual([...rows.keys()].filter((path) => !known.has(path)), [], 'nothing is catalogued that the corpus did not expect');
  for (const row of rows.values()) {
    if (row.status === 'rejected') assert.ok(row.reason && row.reason.length > 5, `${row.rel_path} is rejected with a reason`);
  }

  const duplicateOf = (path: string) => (db.prepare('SELECT duplicate_of FROM images WHERE dataset_id = ? AND rel_path = ?').get(datasetId, path) as { duplicate_of: number | null }).duplicate_of;
  assert.equal(duplicateOf('dogs/original_copy.jpg'), rows.get('dogs/original.jpg')?.id, 'a copy points at its original');

  // Nothing stored is lost: the hand-set label, the stored rows, and a sound database.
  assert.equal((db.prepare('SELECT class_id FROM labels WHERE image_id = ?').get(storedId) as { class_id: number }).class_id, dogsId);
  assert.equal(rows.get('dogs/stored.jpg')?.status, 'ok');
  const storedHistory = db.prepare('SELECT COUNT(*) AS n FROM label_history WHERE image_id IN (?, ?)').get(storedId, rows.get('dogs/stored.jpg')!.id) as { n: number };
  assert.equal(storedHistory.n, 3, 'two folder labels and one manual change, nothing more');
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');

  // Media: every catalogued file answers at once; only images that imported get bytes.
  for (const row of rows.values()) {
    const thumb = await withinSeconds(10, `the thumbnail of ${row.rel_path}`, ctx.services.app.media.resolve('thumb', String(row.id)));
    const image = await withinSeconds(10, `the image of ${row.rel_path}`, ctx.services.app.media.resolve('image', String(row.id)));
    if (row.status === 'rejected') {
      assert.equal(thumb, null, `no thumbnail for rejected ${row.rel_path}`);
      assert.equal(image, null, `no image bytes for rejected ${row.rel_path}`);
    } else if (row.status === 'ok') {
      assert.ok(thumb, `a thumbnail for ${row.rel_path}`);
      assert.ok(image, `the image ${row.rel_path}`);
    }
  }
  const rotated = await ctx.services.app.media.resolve('thumb', String(rows.get('cats/rotated.jpg')!.id));
  const upright = await sharp(rotated!.path).metadata();
  assert.deepEqual([upright.width, upright.height], [40, 60], 'the thumbnail of an EXIF-rotated photo is upright');

  // A second import is stable: the faults are gone, so those files are read again; the rest stay as they were.
  const again = await importOnce();
  assert.equal(again.status, 'completed', again.error ?? '');
  const second = new Map((db.prepare('SELECT * FROM images WHERE dataset_id = ?').all(datasetId) as Row[]).map((row) => [row.rel_path, row]));
  assert.equal(second.get('dogs/changing.jpg')?.status, 'ok', 'read again now that it is stable');
  assert.equal(second.get('dogs/vanishing.jpg')?.status, 'missing');
  assert.equal(second.get('cats/notes.jpg')?.status, 'rejected', 'permanently bad files stay rejected');
  assert.equal((db.prepare('SELECT class_id FROM labels WHERE image_id = ?').get(storedId) as { class_id: number }).class_id, dogsId);
});
