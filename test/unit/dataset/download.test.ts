import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yazl from 'yazl';
import { downloadFile, downloadTutorial, extractZip, safeEntryPath } from '../../../electron/dataset/download';
import { makeImage } from '../../support/images';
import { openServices } from './helpers';
import type { ImportSummary } from '../../../shared/contract/datasets';
import type { JobFinished, JobProgress } from '../../../shared/contract/jobs';

async function buildZip(entries: Array<[string, Buffer]>, rename?: [string, string]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name, { mtime: new Date(0), compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes = Buffer.concat(chunks);
  if (rename) {
    // yazl refuses unsafe names, so write a same-length safe one and patch it in (local header and central directory).
    assert.equal(rename[0].length, rename[1].length);
    const from = Buffer.from(rename[0]);
    const to = Buffer.from(rename[1]);
    let index = bytes.indexOf(from);
    assert.ok(index >= 0);
    while (index >= 0) {
      to.copy(bytes, index);
      index = bytes.indexOf(from, index + 1);
    }
    bytes = Buffer.from(bytes);
  }
  return bytes;
}

let server: Server;
let base: string;
const files = new Map<string, Buffer>();
const log: Array<{ path: string; range: string | undefined }> = [];
let dropFirst = true;

before(async () => {
  const entries: Array<[string, Buffer]> = [];
  for (const [subset, count] of [['train', 5], ['validation', 5]] as const) {
    for (const cls of ['cats', 'dogs']) {
      for (let i = 0; i < count; i++) {
        entries.push([`cats_and_dogs_filtered/${subset}/${cls}/${cls}.${subset}.${i}.jpg`, await makeImage({ color: cls === 'cats' ? '#aa4400' : '#0044aa', variant: i + (subset === 'train' ? 0 : 50), width: 96, height: 96 })]);
      }
    }
  }
  files.set('/good.zip', await buildZip(entries));
  files.set('/evil.zip', await buildZip([['cats_and_dogs_filtered/train/cats/ok.jpg', await makeImage()], ['zz/evil.txt', Buffer.from('pwned')]], ['zz/evil.txt', '../evil.txt']));
  server = createServer((request, response) => {
    log.push({ path: request.url ?? '', range: request.headers.range });
    const body = files.get(request.url ?? '');
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      response.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      response.end(body.subarray(start));
      return;
    }
    response.writeHead(200, { 'content-length': body.length });
    if (dropFirst && request.url === '/good.zip') {
      // Send 40%, give the client time to store it, then cut the connection, like a flaky network.
      dropFirst = false;
      response.write(body.subarray(0, Math.floor(body.length * 0.4)), () => setTimeout(() => response.socket?.destroy(), 500));
      return;
    }
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('safeEntryPath refuses every way out of the target folder', () => {
  for (const name of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\..\\x', 'a/..']) assert.equal(safeEntryPath('/tmp/t', name), null, name);
  assert.equal(safeEntryPath('/tmp/t', 'a/b.jpg'), '/tmp/t/a/b.jpg');
});

test('a dropped connection is resumed with a Range request; the tutorial zip is extracted and imported with its layout', async () => {
  const ctx = openServices();
  process.env.PAWPRINT_TUTORIAL_URL = `${base}/good.zip`;
  try {
    const events: Array<{ name: string; payload: unknown }> = [];
    ctx.services.app.events.onAny((name, payload) => events.push({ name, payload }));
    const { job } = await ctx.services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
    const result = await ctx.services.app.events.next('jobs.finished', (event) => event.id === job.id, 120_000);
    assert.equal(result.status, 'completed', result.error ?? '');
    const ranges = log.filter((entry) => entry.path === '/good.zip').map((entry) => entry.range);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? '', /^bytes=\d+-$/, 'the second request resumes');
    assert.ok(Number(/\d+/.exec(ranges[1]!)![0]) > 0);
    assert.ok(events.some((event) => event.name === 'jobs.progress' && (event.payload as JobProgress).id === job.id && (event.payload as JobProgress).phase === 'download'));
    const importEnd = events.find((event) => event.name === 'jobs.finished' && (event.payload as JobFinished).kind === 'import')!.payload as JobFinished;
    const summary = importEnd.result as ImportSummary;
    assert.deepEqual(summary.classes, { cats: 10, dogs: 10 });
    assert.equal(summary.rejected.length, 0);
    const dataset = await ctx.services.request('datasets.get', { datasetId: summary.datasetId });
    assert.equal(dataset.layout, 'tutorial');
    assert.deepEqual(dataset.latestSplit?.counts, { train: 10, val: 8, test: 2 });
    assert.ok(!existsSync(join(ctx.services.app.paths.downloads, 'cats_and_dogs_filtered.zip')), 'the zip is removed after extraction');
  } finally {
    delete process.env.PAWPRINT_TUTORIAL_URL;
    await ctx.close();
  }
});

test('an archive with an entry escaping the target is refused as a whole and nothing is written', async () => {
  const ctx = openServices();
  try {
    const zip = await downloadFile({ url: `${base}/evil.zip`, destination: join(ctx.dir, 'dl', 'evil.zip') });
    const target = join(ctx.dir, 'dl', 'out');
    await assert.rejects(extractZip(zip, target), /Refused the archive/);
    assert.ok(!existsSync(target) && !existsSync(`${target}.partial`));
    assert.ok(!existsSync(join(ctx.dir, 'dl', 'evil.txt')) && !existsSync(join(ctx.dir, 'evil.txt')));
    assert.deepEqual(readdirSync(join(ctx.dir, 'dl')), ['evil.zip']);
    assert.equal(readFileSync(zip).length, files.get('/evil.zip')!.length);
  } finally {
    await ctx.close();
  }
});

test('an unreachable server gives a plain "could not reach" message', async () => {
  const ctx = openServices();
  try {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      downloadFile({ url: `http://127.0.0.1:${port}/x.zip`, destination: join(ctx.dir, 'x.zip'), retryDelayMs: 10 }),
      (error: Error) => /^could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/.test(error.message),
    );
    await assert.rejects(downloadFile({ url: `${base}/missing.zip`, destination: join(ctx.dir, 'y.zip') }), /HTTP 404/);
  } finally {
    await ctx.close();
  }
});

test('a tutorial archive that fails verification is deleted, and the next try downloads a fresh one', async () => {
  const ctx = openServices();
  const good = files.get('/good.zip')!;
  const bad: Array<[string, Buffer, RegExp]> = [
    ['not a zip', Buffer.from('<html>captive portal login</html>'), /damaged or not a zip/],
    ['truncated', good.subarray(0, Math.floor(good.length / 2)), /damaged or not a zip/],
    ['refused content', files.get('/evil.zip')!, /Refused the archive/],
  ];
  try {
    for (const [what, bytes, reason] of bad) {
      const directory = join(ctx.dir, what.replaceAll(' ', '-'));
      const zipPath = join(directory, 'cats_and_dogs_filtered.zip');
      files.set('/tutorial.zip', bytes);
      await assert.rejects(downloadTutorial({ url: `${base}/tutorial.zip`, directory }), (error: Error) => {
        assert.match(error.message, reason, what);
        assert.match(error.message, /deleted.*next try downloads it afresh/, what);
        return true;
      });
      assert.ok(!existsSync(zipPath) && !existsSync(`${zipPath}.part`), `${what}: the refused archive is not kept`);
      assert.ok(!existsSync(join(directory, 'tutorial')), `${what}: nothing of it is extracted`);

      files.set('/tutorial.zip', good);
      const before = log.filter((entry) => entry.path === '/tutorial.zip').length;
      const root = await downloadTutorial({ url: `${base}/tutorial.zip`, directory });
      const requests = log.filter((entry) => entry.path === '/tutorial.zip').slice(before);
      assert.equal(requests.length, 1, `${what}: downloaded again`);
      assert.equal(requests[0]!.range, undefined, `${what}: from the start, not resumed onto the bad bytes`);
      assert.equal(readdirSync(join(root, 'train', 'cats')).length, 5, what);
      assert.ok(!existsSync(zipPath), `${what}: the good archive is removed after extraction`);
    }
  } finally {
    files.delete('/tutorial.zip');
    await ctx.close();
  }
});

test('a tutorial download of the wrong size is refused and not resumed by the next try', async () => {
  const ctx = openServices();
  const good = files.get('/good.zip')!;
  try {
    const directory = join(ctx.dir, 'wrong-size');
    const zipPath = join(directory, 'cats_and_dogs_filtered.zip');
    files.set('/tutorial.zip', Buffer.concat([good, Buffer.alloc(1000)]));
    await assert.rejects(
      downloadTutorial({ url: `${base}/tutorial.zip`, directory, expectedBytes: good.length }),
      /offers \d+ bytes, expected \d+.*deleted.*next try downloads it afresh/,
    );
    assert.ok(!existsSync(zipPath) && !existsSync(`${zipPath}.part`));

    files.set('/tutorial.zip', good);
    const root = await downloadTutorial({ url: `${base}/tutorial.zip`, directory, expectedBytes: good.length });
    assert.equal(readdirSync(join(root, 'validation', 'dogs')).length, 5);
  } finally {
    files.delete('/tutorial.zip');
    await ctx.close();
  }
});
