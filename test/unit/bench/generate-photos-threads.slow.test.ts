// The photo generator on worker threads (bench/generate-photos.ts) writes exactly what it writes on one thread: each
// photo depends only on (seed, index), whichever thread made it. Slow: each thread loads TypeScript through tsx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePhotos } from '../../../bench/generate-photos';
import { tempDir } from '../../support/temp';

function listPhotos(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.jpg')).sort();
}

test('the same seed writes byte-identical files on worker threads as on one thread; another seed writes other photos', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    const onThreads = join(dir.path, 'threads');
    const inline = join(dir.path, 'inline');
    const other = join(dir.path, 'other');
    // 20 photos in batches of 3 over two threads: batches land on either thread in any order.
    await generatePhotos({ n: 20, out: onThreads, seed: 7, threads: 2 });
    await generatePhotos({ n: 20, out: inline, seed: 7, threads: 0 });
    await generatePhotos({ n: 10, out: other, seed: 8, threads: 0 });
    const files = listPhotos(onThreads);
    assert.equal(files.length, 20);
    assert.deepEqual(listPhotos(inline), files);
    for (const file of files) assert.ok(readFileSync(join(onThreads, file)).equals(readFileSync(join(inline, file))), `${file} differs between runs with one seed`);
    const otherFiles = listPhotos(other);
    const differing = otherFiles.filter((file) => !readFileSync(join(onThreads, file)).equals(readFileSync(join(other, file))));
    assert.equal(differing.length, 10, 'a different seed must change every photo');
  } finally {
    dir.cleanup();
  }
});

