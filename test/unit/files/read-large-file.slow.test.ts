// In the slow suite: it allocates and fills a 2 GiB buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile } from '../../../electron/files/read-regular-file';
import { tempDir } from '../../support/temp';

test('a file of more than 2 GiB is read in parts, not in one call that aborts the process', { skip: process.platform === 'win32' && 'sparse files differ on Windows' }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'big.bin');
    writeFileSync(path, Buffer.alloc(0));
    truncateSync(path, 2 ** 31 + 8); // sparse: no disk used
    const bytes = await readRegularFile(path);
    assert.equal(bytes.length, 2 ** 31 + 8);
    assert.equal(bytes[bytes.length - 1], 0);
  } finally {
    dir.cleanup();
  }
});
