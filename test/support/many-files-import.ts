// Child process of test/unit/dataset/many-files.test.ts, started under a lowered open-files limit: writes `count` tiny
// distinct PNGs into one folder, imports them twice (an import, then an unchanged re-scan) into a fresh catalogue, and
// prints one JSON line with the limit it ran under and what the imports stored.
// Usage: node --import tsx test/support/many-files-import.ts <folder> <count>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset, startImportRow } from '../../electron/catalogue/datasets';
import { runImport } from '../../electron/dataset/importer';
import { createServices } from '../../electron/services/index';
import { writeManyTinyFiles } from './bad-input-corpus';
import { tempPaths } from './temp';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);
if (!dir || !Number.isInteger(count) || count <= 0) {
  console.error('usage: many-files-import.ts <folder> <count>');
  process.exit(2);
}

/** The soft limit on open files this process runs under (Linux's /proc; null where there is none). */
function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((text) => text.startsWith('Max open files'));
    const soft = line?.replace('Max open files', '').trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

const services = createServices({ paths: tempPaths(dir), host: { kind: 'web' } });
try {
  const db = services.app.db;
  const root = join(dir, 'many');
  await writeManyTinyFiles(join(root, 'things'), count);
  const datasetId = createDataset(db, 'many', root, 'folders').id;
  const first = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  const statuses = db.prepare('SELECT status, COUNT(*) AS n FROM images WHERE dataset_id = ? GROUP BY status').all(datasetId);
  const rescan = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  console.log(JSON.stringify({
    openFilesLimit: openFilesLimit(),
    first: { status: first.status, error: first.error ?? null },
    statuses,
    rescan: { status: rescan.status, error: rescan.error ?? null, unchanged: rescan.counters.unchanged },
  }));
} finally {
  await services.close();
}
