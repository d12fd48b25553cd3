// Issue 14's walkthrough: undoing a label change must put back the label's source too. Undo through setLabels left
// a folder label 'manual', so a later re-import ignored the image's folder (moving the photo to dogs/ kept it a cat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { importFolder, openServices } from './helpers';
import { writeClassFolders } from '../../support/images';
import { labelOf, restoreLabels, setLabels } from '../../../electron/catalogue/labels';

/** A cats/dogs folder of `perClass` photos each, imported: folder labels on every image; cats/cats-000.jpg is `image`. */
async function importPets(app: ReturnType<typeof openServices>, perClass: number) {
  const root = join(app.dir, 'pets');
  await writeClassFolders(root, { cats: { count: perClass, color: '#c86432' }, dogs: { count: perClass, color: '#3264c8' } });
  const { datasetId } = await importFolder(app.services, root);
  const db = app.services.app.db;
  const classes = (await app.services.request('datasets.get', { datasetId })).classes;
  const cats = classes.find((c) => c.name === 'cats')!.id;
  const dogs = classes.find((c) => c.name === 'dogs')!.id;
  const image = db.prepare(`SELECT id FROM images WHERE rel_path = 'cats/cats-000.jpg'`).get() as { id: number };
  return { root, datasetId, db, cats, dogs, image };
}

test('an undone folder label is a folder label again, and a re-import follows its folder', async () => {
  const app = openServices();
  try {
    const { root, datasetId, db, cats, dogs, image } = await importPets(app, 3);
    assert.equal(labelOf(db, image.id)?.source, 'folder');

    const [change] = setLabels(db, datasetId, [{ imageId: image.id, classId: dogs }]);
    assert.deepEqual(change, { imageId: image.id, before: cats, after: dogs, beforeSource: 'folder' });
    // Undo as labels.set did it (setLabels back to `before`) left { source: 'manual' } here.
    restoreLabels(db, datasetId, [{ imageId: image.id, classId: change!.before, source: change!.beforeSource }]);
    assert.deepEqual({ ...labelOf(db, image.id) }, { image_id: image.id, class_id: cats, source: 'folder' });

    // The photo moves to dogs/: the re-import relabels it, as it would have had nobody touched it.
    mkdirSync(join(root, 'dogs'), { recursive: true });
    renameSync(join(root, 'cats', 'cats-000.jpg'), join(root, 'dogs', 'moved-cat.jpg'));
    await importFolder(app.services, root, { datasetId });
    const moved = db.prepare(`SELECT id FROM images WHERE rel_path = 'dogs/moved-cat.jpg'`).get() as { id: number };
    assert.equal(labelOf(db, moved.id)?.class_id, dogs);
  } finally {
    await app.close();
  }
});


test('undo of a first manual label leaves the image unlabelled with no decision, so its folder may label it later', async () => {
  const app = openServices();
  try {
    const root = join(app.dir, 'pets');
    await writeClassFolders(root, { cats: { count: 2, color: '#c86432' }, dogs: { count: 2, color: '#3264c8' } });
    const { datasetId } = await importFolder(app.services, root);
    const db = app.services.app.db;
    const image = db.prepare(`SELECT id, (SELECT class_id FROM labels WHERE image_id = images.id) AS classId FROM images WHERE rel_path = 'cats/cats-000.jpg'`).get() as { id: number; classId: number };
    const [removed] = setLabels(db, datasetId, [{ imageId: image.id, classId: null }]);
    restoreLabels(db, datasetId, [{ imageId: image.id, classId: removed!.before, source: removed!.beforeSource }]);
    assert.equal(labelOf(db, image.id)?.source, 'folder');
    const history = db.prepare(`SELECT COUNT(*) AS n FROM label_history WHERE image_id = ? AND source = 'manual'`).get(image.id) as { n: number };
    assert.equal(history.n, 0, 'the undone decision is forgotten');
  } finally {
    await app.close();
  }
});

test('undo through the contract: labels.assign says the source it replaced, and labels.restore puts it back', async () => {
  const app = openServices();
  try {
    const { datasetId, db, cats, dogs, image } = await importPets(app, 2);

    const { changes } = await app.services.request('labels.assign', { datasetId, imageIds: [image.id], classId: dogs });
    assert.deepEqual(changes, [{ imageId: image.id, before: cats, after: dogs, beforeSource: 'folder' }]);
    await app.services.request('labels.restore', {
      datasetId, labels: changes.map((change) => ({ imageId: change.imageId, classId: change.before, source: change.beforeSource ?? null })),
    });
    assert.deepEqual({ ...labelOf(db, image.id) }, { image_id: image.id, class_id: cats, source: 'folder' });
  } finally {
    await app.close();
  }
});
