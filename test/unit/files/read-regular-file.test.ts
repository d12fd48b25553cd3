import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile } from '../../../electron/files/read-regular-file';
import { tempDir } from '../../support/temp';

test('reads a regular file whole', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'a.jpg');
    writeFileSync(path, Buffer.from([1, 2, 3, 4]));
    assert.deepEqual([...(await readRegularFile(path))], [1, 2, 3, 4]);
  } finally {
    dir.cleanup();
  }
});

test('refuses a FIFO at once instead of waiting for a writer', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'x.jpg');
    execFileSync('mkfifo', [path]);
    await assert.rejects(readRegularFile(path), /not a regular file \(a named pipe \(FIFO\)\)/);
  } finally {
    dir.cleanup();
  }
});

test('refuses a character device, a folder and an oversized file', { skip: process.platform === 'win32' && 'no /dev/zero on Windows' }, async () => {
  const dir = tempDir();
  try {
    await assert.rejects(readRegularFile('/dev/zero'), /not a regular file \(a character device\)/);
    const folder = join(dir.path, 'folder.jpg');
    mkdirSync(folder);
    await assert.rejects(readRegularFile(folder), /not a regular file \(a folder\)/);
    const big = join(dir.path, 'big.jpg');
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024));
    await assert.rejects(readRegularFile(big, { maxBytes: 1024 * 1024 }), /too large \(2 MB; the limit is 1 MB\)/);
  } finally {
    dir.cleanup();
  }
});

test('a missing file keeps its ENOENT code for the caller to word', async () => {
  await assert.rejects(readRegularFile('/nonexistent/pawprint/x.jpg'), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
});
