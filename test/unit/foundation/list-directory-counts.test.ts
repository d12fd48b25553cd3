// Issue 14's walkthrough: Browse shows how many photos each folder holds, so a person finds the dataset folder
// without opening every one. system.listDirectory counts the image files directly inside each subfolder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { tempDir, tempPaths } from '../../support/temp';

test('each subfolder in a listing carries the number of photos directly inside it', async () => {
  const dir = tempDir('pawprint-browse-');
  const services = createServices({ paths: tempPaths(join(dir.path, 'app')), host: { kind: 'web' } });
  try {
    const root = join(dir.path, 'photos');
    mkdirSync(join(root, 'cats', 'kittens'), { recursive: true });
    mkdirSync(join(root, 'empty'), { recursive: true });
    mkdirSync(join(root, 'notes'), { recursive: true });
    for (const name of ['a.jpg', 'b.JPEG', 'c.png', 'd.webp']) writeFileSync(join(root, 'cats', name), 'x');
    writeFileSync(join(root, 'cats', 'kittens', 'e.jpg'), 'x');
    writeFileSync(join(root, 'cats', '.hidden.jpg'), 'x');
    writeFileSync(join(root, 'notes', 'readme.txt'), 'x');
    execFileSync('mkfifo', [join(root, 'notes', 'pipe.jpg')]);
    writeFileSync(join(root, 'top.jpg'), 'x');

    const listing = await services.request('system.listDirectory', { path: root });

    const byName = Object.fromEntries(listing.entries.map((entry) => [entry.name, entry]));
    assert.equal(byName.cats?.images, 4, 'kittens/ is not counted in cats/, nor the hidden file');
    assert.equal(byName.empty?.images, 0);
    assert.equal(byName.notes?.images, 0, 'a FIFO named .jpg is not a photo');
    assert.equal(byName['top.jpg']?.images, undefined, 'files carry no count');
  } finally {
    await services.close();
    dir.cleanup();
  }
});
