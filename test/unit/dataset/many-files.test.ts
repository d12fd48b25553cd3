import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../support/temp';

// Many files in one folder: the import must neither run out of file handles nor hang nor catalogue a file twice.
// The import runs in a child process whose open-files limit is lowered to OPEN_FILES, with eight times as many files:
// an importer that opened every file at once, or leaked a handle per file, fails here with EMFILE. (It used to import
// 12,000 files under the machine's own limit, 20,000 on the CI machine, which no handle leak could reach: 49 s of CI
// for a check it could not make. The walk's slices, the reader pool and the 500-file batches are all crossed many
// times by 2,000 files.)
const OPEN_FILES = 256;
const COUNT = 2_000;
const child = fileURLToPath(new URL('../../support/many-files-import.ts', import.meta.url));

test(`${COUNT.toLocaleString('en-US')} files in one folder import under a ${OPEN_FILES}-file handle limit without hanging, each catalogued once`, { skip: process.platform === 'win32' ? 'needs a POSIX shell for ulimit' : false, timeout: 300_000 }, () => {
  const dir = tempDir('pawprint-many-files-');
  try {
    const run = spawnSync('/bin/sh', ['-c', `ulimit -n ${OPEN_FILES} && exec "$@"`, 'sh', process.execPath, '--import', 'tsx', child, dir.path, String(COUNT)], {
      encoding: 'utf8',
      timeout: 280_000,
    });
    assert.equal(run.status, 0, `the import process failed (${run.signal ?? run.status}): ${run.stderr}`);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      openFilesLimit: number | null;
      first: { status: string; error: string | null };
      statuses: Array<{ status: string; n: number }>;
      rescan: { status: string; error: string | null; unchanged: number };
    };
    if (process.platform === 'linux') assert.equal(report.openFilesLimit, OPEN_FILES, 'the import ran under the lowered limit');
    assert.equal(report.first.status, 'completed', report.first.error ?? '');
    assert.deepEqual(report.statuses, [{ status: 'ok', n: COUNT }]);
    assert.equal(report.rescan.status, 'completed', report.rescan.error ?? '');
    assert.equal(report.rescan.unchanged, COUNT);
  } finally {
    dir.cleanup();
  }
});
