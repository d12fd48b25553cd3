// Issue 14 follow-up: Try it's "add with its right label" on a photo the dataset already holds (an upload or a file
// from another folder with the same bytes) relabels that photo in place instead of being refused. export.findInDataset
// names the dataset's photo with the same bytes and its label; another photo is not found; a path that is no photo
// file is refused in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { importFolder, openServices } from '../dataset/helpers';
import { makeImage, writeClassFolders } from '../../support/images';

test('a photo with the bytes of a dataset photo is found with its label; another photo is not', async () => {
  const app = openServices();
  try {
    const root = join(app.dir, 'pets');
    await writeClassFolders(root, { cats: { count: 2, color: '#c86432' }, dogs: { count: 2, color: '#3264c8' } });
    const { datasetId } = await importFolder(app.services, root);
    const dogBytes = readFileSync(join(root, 'dogs', 'dogs-001.jpg'));

    // Uploaded under another name: found by its bytes.
    const upload = await app.services.request('export.upload', { name: 'my-photo.jpg', data: dogBytes.toString('base64') });
    const found = await app.services.request('export.findInDataset', { datasetId, image: { uploadId: upload.uploadId, name: upload.name } });
    assert.equal(found.image?.relPath, 'dogs/dogs-001.jpg');
    assert.equal(found.image?.className, 'dogs');
    const detail = await app.services.request('images.detail', { imageId: found.image!.imageId });
    assert.equal(detail.relPath, 'dogs/dogs-001.jpg');

    // A copy elsewhere on disk, given by its path.
    const elsewhere = join(app.dir, 'downloads', 'copy.jpg');
    mkdirSync(dirname(elsewhere), { recursive: true });
    copyFileSync(join(root, 'cats', 'cats-000.jpg'), elsewhere);
    assert.equal((await app.services.request('export.findInDataset', { datasetId, image: { path: elsewhere } })).image?.className, 'cats');

    // A new photo is not in the dataset.
    const fresh = await app.services.request('export.upload', { name: 'new.jpg', data: (await makeImage({ color: '#20a020', variant: 9 })).toString('base64') });
    assert.equal((await app.services.request('export.findInDataset', { datasetId, image: { uploadId: fresh.uploadId, name: fresh.name } })).image, null);

    // A named pipe is no photo: refused in one line, nothing waits on it.
    const pipe = join(app.dir, 'pipe.jpg');
    execFileSync('mkfifo', [pipe]);
    await assert.rejects(app.services.request('export.findInDataset', { datasetId, image: { path: pipe } }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.message, /not a regular file/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  } finally {
    await app.close();
  }
});
