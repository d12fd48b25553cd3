import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { startWebHost } from '../../../electron/host/web';
import type { WebHost } from '../../../electron/host/web';
import { downloadsOf } from '../../../electron/services/downloads';
import { readZipEntries } from '../../../electron/files/zip';
import { tempDir, tempPaths } from '../../support/temp';

const dir = tempDir();
let services: Services;
let web: WebHost;
let cookie = '';
let base = '';

before(async () => {
  const staticRoot = join(dir.path, 'renderer');
  mkdirSync(staticRoot);
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>Pawprint test</title>');
  services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  web = await startWebHost({ services, staticRoot, token: 'download-token' });
  const launch = await fetch(web.launchUrl, { redirect: 'manual' });
  cookie = (launch.headers.get('set-cookie') ?? '').split(';')[0]!;
  base = new URL(launch.headers.get('location') ?? '', web.launchUrl).href;
});

after(async () => {
  await web.close();
  await services.close();
  dir.cleanup();
});

test('a finished export downloads over HTTP with the cookie: the same bytes as the file, as an attachment', async () => {
  const zip = join(dir.path, 'export-run-1.zip');
  const bytes = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 31) % 256));
  writeFileSync(zip, bytes);
  // What export.run does with the package it wrote.
  const id = downloadsOf(services.app).issue(zip);
  const response = await fetch(`${base}download/${id}`, { headers: { cookie } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/zip');
  assert.match(response.headers.get('content-disposition') ?? '', /^attachment; filename="export-run-1\.zip"/);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), readFileSync(zip));
});

test('a unicode name gets an ASCII fallback and an RFC 6266 filename*', async () => {
  const csv = join(dir.path, 'étiquettes "chats".csv');
  writeFileSync(csv, 'path,label\n');
  const id = downloadsOf(services.app).issue(csv);
  const response = await fetch(`${base}download/${id}`, { headers: { cookie } });
  assert.equal(response.status, 200);
  const disposition = response.headers.get('content-disposition') ?? '';
  assert.match(disposition, /filename="_tiquettes _chats_\.csv"/);
  assert.match(disposition, /filename\*=UTF-8''%C3%A9tiquettes%20%22chats%22\.csv$/);
  assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
});

test('a folder export comes as a zip with the same bytes each time', async () => {
  const folder = join(dir.path, 'export-folder');
  mkdirSync(join(folder, 'reference'), { recursive: true });
  writeFileSync(join(folder, 'model.json'), '{}');
  writeFileSync(join(folder, 'reference', 'b.png'), 'B');
  writeFileSync(join(folder, 'reference', 'a.png'), 'A');
  const id = downloadsOf(services.app).issue(folder, { folder: true });
  const first = await fetch(`${base}download/${id}`, { headers: { cookie } });
  assert.equal(first.status, 200);
  assert.match(first.headers.get('content-disposition') ?? '', /filename="export-folder\.zip"/);
  const one = Buffer.from(await first.arrayBuffer());
  const two = Buffer.from(await (await fetch(`${base}download/${id}`, { headers: { cookie } })).arrayBuffer());
  assert.equal(one.subarray(0, 4).toString('hex'), '504b0304');
  assert.deepEqual(one, two);
  const entries = await readZipEntries(one);
  assert.deepEqual([...entries.keys()], ['model.json', 'reference/a.png', 'reference/b.png']);
  assert.equal(entries.get('reference/b.png')?.toString(), 'B');
});

test('without the cookie 401, with a wrong one 403; neither reveals the file', async () => {
  const file = join(dir.path, 'secret.zip');
  writeFileSync(file, 'SECRET');
  const id = downloadsOf(services.app).issue(file);
  const missing = await fetch(`${base}download/${id}`);
  assert.equal(missing.status, 401);
  assert.doesNotMatch(await missing.text(), /SECRET/);
  const wrong = await fetch(`${base}download/${id}`, { headers: { cookie: cookie.replace(/=.*/, '=nope') } });
  assert.equal(wrong.status, 403);
});

test('an id never issued, a path and an expired id are a one-line 404', async () => {
  for (const id of ['d0123456789abcdef0123456789abcdef', '..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', 'etc', '../../etc/passwd']) {
    const response = await fetch(`${base}download/${id}`, { headers: { cookie } });
    assert.equal(response.status, 404, id);
    const text = await response.text();
    assert.doesNotMatch(text, /root:/, id);
    assert.equal(text.trim().split('\n').length, 1, id);
  }
  let now = 1000;
  const { DownloadRegistry } = await import('../../../electron/services/downloads');
  const registry = new DownloadRegistry(60_000, () => now);
  const file = join(dir.path, 'short-lived.csv');
  writeFileSync(file, 'x');
  const id = registry.issue(file);
  assert.ok(await registry.open(id));
  now += 60_001;
  assert.equal(await registry.open(id), null);
});

test('an issued file later replaced by a symlink (to /etc/passwd) is a 404, not the link target', async () => {
  const file = join(dir.path, 'replaced.csv');
  writeFileSync(file, 'mine');
  const id = downloadsOf(services.app).issue(file);
  rmSync(file);
  symlinkSync('/etc/passwd', file);
  const response = await fetch(`${base}download/${id}`, { headers: { cookie } });
  assert.equal(response.status, 404);
  assert.doesNotMatch(await response.text(), /root:/);
});
