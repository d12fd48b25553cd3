// Label exports hand out download ids too (issue 13 item 3), and the desktop's "Show in folder" reveals a file by
// that id only; the browser host has no such request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { downloadsOf } from '../../../electron/services/downloads';
import { readZipEntries } from '../../../electron/files/zip';
import { writeClassFolders } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';

async function withDataset(t: { after(fn: () => Promise<void> | void): void }, kind: 'web' | 'electron', shown: string[] = []) {
  const dir = tempDir('pawprint-label-download-');
  const services = createServices({
    paths: tempPaths(dir.path),
    host: kind === 'web' ? { kind } : { kind, showItemInFolder: (path) => shown.push(path) },
  });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const photos = join(dir.path, 'photos');
  await writeClassFolders(photos, { blue: { count: 2, color: '#2030d0' }, red: { count: 1, color: '#d03020' } }, { width: 12, height: 10 });
  const { job } = await services.app.jobs.start({ kind: 'import', input: { path: photos } });
  const imported = await services.app.jobs.wait(job.id);
  assert.ok(imported.kind === 'import' && imported.result);
  return { services, root: dir.path, datasetId: imported.result.datasetId };
}

async function bodyOf(services: Awaited<ReturnType<typeof withDataset>>['services'], id: string): Promise<Buffer> {
  const opened = await downloadsOf(services.app).open(id);
  assert.ok(opened, `download ${id} opens`);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('labels.exportCsv and labels.exportFolders (copies) answer with download ids for what they wrote', async (t) => {
  const { services, root, datasetId } = await withDataset(t, 'web');
  const csv = await services.request('labels.exportCsv', { datasetId, file: join(root, 'labels.csv') });
  assert.ok(csv.download);
  assert.deepEqual(await bodyOf(services, csv.download), readFileSync(csv.file));
  const folders = await services.request('labels.exportFolders', { datasetId, directory: join(root, 'by-class'), link: false });
  assert.ok(folders.download);
  const entries = await readZipEntries(await bodyOf(services, folders.download));
  assert.equal(entries.size, 3);
  assert.deepEqual([...entries.keys()].map((name) => name.split('/')[0]), ['blue', 'blue', 'red']);
});

test('system.showInFolder: the browser host refuses in words; the desktop reveals the file by its id, never by a path', async (t) => {
  const web = await withDataset(t, 'web');
  const csv = await web.services.request('labels.exportCsv', { datasetId: web.datasetId, file: join(web.root, 'labels.csv') });
  await assert.rejects(web.services.request('system.showInFolder', { download: csv.download! }), { code: 'unsupported', message: /desktop feature; in the browser, use the Download link/ });
  const shown: string[] = [];
  const desktop = await withDataset(t, 'electron', shown);
  const written = await desktop.services.request('labels.exportCsv', { datasetId: desktop.datasetId, file: join(desktop.root, 'labels.csv') });
  await desktop.services.request('system.showInFolder', { download: written.download! });
  assert.deepEqual(shown, [written.file]);
  await assert.rejects(desktop.services.request('system.showInFolder', { download: 'd0123456789abcdef0123456789abcdef' }), { code: 'not-found', message: /no longer offered/ });
  await assert.rejects(desktop.services.request('system.showInFolder', { download: '/etc/passwd' } as never), /not a download id/);
  assert.equal(shown.length, 1);
});
