// Issue 14 follow-up: Browse's photo counts were made for every subfolder at once (a folder of hundreds of subfolders
// opened hundreds of handles together, so some failed with EMFILE) and a folder that could not be read counted 0, as if
// it held no photos. Now at most PHOTO_COUNT_CONCURRENCY folders are counted at a time, and a folder that cannot be read
// is reported as unknown, with the reason in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServices } from '../../../electron/services/index';
import { countPhotosEach, PHOTO_COUNT_CONCURRENCY } from '../../../electron/services/system';
import { tempDir, tempPaths } from '../../support/temp';

/** A folder with `count` subfolders, each holding one photo (and `locked/` when asked). */
function manyFolders(root: string, count: number): string[] {
  const names = Array.from({ length: count }, (_, i) => `album-${String(i).padStart(3, '0')}`);
  for (const name of names) {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, 'photo.jpg'), 'x');
  }
  return names;
}

/** Sets this process's open-file limit (soft and hard stay as given); answers the previous "soft:hard". */
function setOpenFileLimit(limit: string): string {
  const before = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output=SOFT,HARD', '--noheadings', '--raw']).toString().trim().split(/\s+/).join(':');
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}`]);
  return before;
}

test('a folder of 300 subfolders is listed with every count right when few files may be open at once', async () => {
  const dir = tempDir('pawprint-browse-many-');
  const services = createServices({ paths: tempPaths(join(dir.path, 'app')), host: { kind: 'web' } });
  const root = join(dir.path, 'photos');
  const names = manyFolders(root, 300);
  await services.request('system.listDirectory', { path: dir.path }); // the services' own files are open before the limit
  // Room for what is open now and 64 more: 300 folders counted at once would run out (EMFILE), 8 at a time do not.
  const open = readdirSync('/proc/self/fd').length;
  const hard = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output=HARD', '--noheadings', '--raw']).toString().trim();
  const before = setOpenFileLimit(`${open + 64}:${hard}`);
  let listing;
  try {
    listing = await services.request('system.listDirectory', { path: root });
  } finally {
    setOpenFileLimit(before);
    await services.close();
  }
  try {
    const folders = listing.entries.filter((entry) => entry.isDirectory);
    assert.equal(folders.length, 300);
    const wrong = folders.filter((entry) => entry.images !== 1).map((entry) => `${entry.name}: ${entry.images ?? entry.imagesUnknown}`);
    assert.deepEqual(wrong, [], 'every folder holds one photo');
    assert.deepEqual(folders.map((entry) => entry.name), names);
  } finally {
    dir.cleanup();
  }
});

test('counting opens at most PHOTO_COUNT_CONCURRENCY folders at a time, and answers in the folders\' order', async () => {
  const dir = tempDir('pawprint-browse-bound-');
  try {
    const folders = manyFolders(dir.path, 40).map((name) => join(dir.path, name));
    writeFileSync(join(folders[3]!, 'second.png'), 'x');
    let open = 0;
    let most = 0;
    const slowOpen = (async (path: string) => {
      open++;
      most = Math.max(most, open);
      try {
        await sleep(5);
        return await opendir(path);
      } finally {
        open--;
      }
    }) as typeof opendir;
    const counts = await countPhotosEach(folders, { open: slowOpen });
    assert.equal(most, PHOTO_COUNT_CONCURRENCY);
    assert.deepEqual(counts.map((count) => ('images' in count ? count.images : -1)), folders.map((_, i) => (i === 3 ? 2 : 1)));
  } finally {
    dir.cleanup();
  }
});

test('a folder that cannot be read is unknown, with the reason, not "no photos"', async () => {
  const dir = tempDir('pawprint-browse-locked-');
  try {
    const [readable, locked] = ['cats', 'locked'].map((name) => join(dir.path, name)) as [string, string];
    mkdirSync(readable);
    mkdirSync(locked);
    writeFileSync(join(readable, 'a.jpg'), 'x');
    writeFileSync(join(locked, 'b.jpg'), 'x');
    // root reads any folder whatever its mode: there the refusal is the one the system gives others (EACCES).
    const asRoot = process.getuid?.() === 0;
    const refusing = (async (path: string) => {
      if (asRoot && path === locked) throw Object.assign(new Error(`EACCES: permission denied, opendir '${path}'`), { code: 'EACCES' });
      return opendir(path);
    }) as typeof opendir;
    chmodSync(locked, 0o000);
    try {
      assert.deepEqual(await countPhotosEach([readable, locked], { open: refusing }), [
        { images: 1 }, { imagesUnknown: 'cannot be read: permission denied' },
      ]);
      if (!asRoot) {
        const services = createServices({ paths: tempPaths(join(dir.path, 'app')), host: { kind: 'web' } });
        try {
          const listing = await services.request('system.listDirectory', { path: dir.path });
          const entry = listing.entries.find((e) => e.name === 'locked');
          assert.equal(entry?.images, undefined);
          assert.equal(entry?.imagesUnknown, 'cannot be read: permission denied');
        } finally {
          await services.close();
        }
      }
    } finally {
      chmodSync(locked, 0o755);
    }
  } finally {
    dir.cleanup();
  }
});
