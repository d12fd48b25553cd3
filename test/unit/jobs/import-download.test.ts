// Import and download as jobs of the runtime: started by jobs.start, their result the import summary, cancel through
// jobs.cancel, the download's import a child job; their progress and end go out as jobs.progress / jobs.finished only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import yazl from 'yazl';
import type { JobFinished, JobProgress } from '../../../shared/contract/jobs';
import type { ImportSummary } from '../../../shared/contract/datasets';
import { createServices } from '../../../electron/services/index';
import { getJob } from '../../../electron/catalogue/jobs';
import { makeImage } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';

function open(t: { after(fn: () => Promise<void> | void): void }) {
  const dir = tempDir('pawprint-jobs-import-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0, pollMs: 50 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const events: Array<{ name: string; payload: unknown }> = [];
  services.app.events.onAny((name, payload) => events.push({ name, payload }));
  return { services, dir: dir.path, events };
}

async function photoFolder(root: string, perClass: number): Promise<string> {
  for (const cls of ['cats', 'dogs']) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      writeFileSync(join(root, cls, `${cls}-${i}.png`), await makeImage({ color: cls === 'cats' ? '#aa4400' : '#0044aa', variant: i, width: 48, height: 48, format: 'png' }));
    }
  }
  return root;
}

test('an import job answers at once, reports import progress and ends with the import summary as its result', async (t) => {
  const { services, dir, events } = open(t);
  const root = await photoFolder(join(dir, 'photos'), 6);
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path: root, name: 'pets' } });
  assert.equal(job.kind, 'import');
  assert.equal(job.lane, 'io');
  assert.match(job.title, /^Import .*photos$/);
  assert.ok(job.datasetId);
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'completed');
  assert.equal(finished.kind, 'import');
  const summary = finished.result as ImportSummary;
  assert.equal(summary.imported, 12);
  assert.equal(summary.datasetId, job.datasetId);
  assert.deepEqual(summary.classes, { cats: 6, dogs: 6 });
  const progress = events.filter((e) => e.name === 'jobs.progress').map((e) => e.payload as JobProgress).filter((p) => p.id === job.id);
  const last = progress.at(-1)!;
  assert.equal(last.detail?.type, 'import');
  assert.equal(last.done, 12);
  assert.ok(events.some((e) => e.name === 'datasets.changed'));
  const announced = events.find((e) => e.name === 'jobs.finished' && (e.payload as JobFinished).id === job.id)?.payload as JobFinished;
  assert.deepEqual([announced.kind, announced.status, (announced.result as ImportSummary).importId], ['import', 'completed', summary.importId]);
  assert.deepEqual(events.filter((e) => e.name.startsWith('datasets.')).map((e) => e.name), ['datasets.changed'], 'no per-domain import events');
  const got = await services.request('jobs.get', { id: job.id });
  assert.equal(got.job.status, 'completed');
  assert.equal((got.finished?.result as ImportSummary).importId, summary.importId);
});

test('a bad folder is refused before anything is queued; a second import of the same dataset is refused with words', async (t) => {
  const { services, dir } = open(t);
  await assert.rejects(services.request('jobs.start', { kind: 'import', input: { path: join(dir, 'nope') } }), /The folder .*nope does not exist; check the path/);
  assert.deepEqual((await services.request('jobs.list', {})).jobs, []);
  const root = await photoFolder(join(dir, 'photos'), 40);
  const first = (await services.request('jobs.start', { kind: 'import', input: { path: root } })).job;
  await assert.rejects(services.request('jobs.start', { kind: 'import', input: { path: root } }), new RegExp(`already being imported \\(job ${first.id}\\)`));
  await assert.rejects(services.request('datasets.delete', { datasetId: first.datasetId! }), /Cancel the running import/);
  await services.app.jobs.wait(first.id);
});

test('cancelling an import job mid-import ends it cancelled with the summary of what was read', async (t) => {
  const { services, dir, events } = open(t);
  const root = await photoFolder(join(dir, 'photos'), 60);
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path: root } });
  // Cancel at the first processing step: the importer commits in batches and checks the signal between them.
  await new Promise<void>((resolve) => {
    const stop = services.app.events.onAny((name, payload) => {
      if (name === 'jobs.progress' && (payload as JobProgress).id === job.id && (payload as JobProgress).phase === 'processing') {
        stop();
        services.app.jobs.cancel(job.id);
        resolve();
      }
    });
  });
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'cancelled');
  const summary = finished.result as ImportSummary;
  assert.equal(summary.status, 'cancelled');
  assert.ok(summary.imported < 120, `${summary.imported} of 120 read before the cancel`);
  assert.equal(getJob(services.app.db, job.id)?.status, 'cancelled');
  assert.equal((await services.request('datasets.importSummary', { importId: summary.importId })).status, 'cancelled');
  assert.ok(events.some((e) => e.name === 'jobs.finished' && (e.payload as JobFinished).id === job.id));
});

test('an import job is listed with its dataset while it runs; cancelling it after it ended cancels nothing', async (t) => {
  const { services, dir } = open(t);
  const root = await photoFolder(join(dir, 'photos'), 4);
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path: root } });
  const listed = (await services.request('jobs.list', { kind: 'import' })).jobs;
  assert.equal(listed.length, 1);
  assert.deepEqual([listed[0]!.id, listed[0]!.datasetId], [job.id, job.datasetId]);
  const finished = await services.app.jobs.wait(job.id);
  const summary = finished.result as ImportSummary;
  assert.equal(summary.datasetId, job.datasetId);
  assert.equal((await services.request('datasets.importSummary', { importId: summary.importId })).status, 'completed');
  const cancel = await services.request('jobs.cancel', { id: job.id });
  assert.deepEqual([cancel.cancelled, cancel.job.status], [false, 'completed']);
});

test('the tutorial download is a job whose import is a child job; its result names both', async (t) => {
  const zip = new yazl.ZipFile();
  for (const subset of ['train', 'validation']) {
    for (const cls of ['cats', 'dogs']) {
      for (let i = 0; i < 3; i++) {
        zip.addBuffer(await makeImage({ color: cls === 'cats' ? '#aa4400' : '#0044aa', variant: i + (subset === 'train' ? 0 : 50), width: 64, height: 64 }), `cats_and_dogs_filtered/${subset}/${cls}/${cls}.${i}.jpg`, { mtime: new Date(0), compress: false });
      }
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const previous = process.env.PAWPRINT_TUTORIAL_URL;
  process.env.PAWPRINT_TUTORIAL_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tutorial.zip`;
  t.after(() => {
    if (previous === undefined) delete process.env.PAWPRINT_TUTORIAL_URL;
    else process.env.PAWPRINT_TUTORIAL_URL = previous;
  });

  const { services, events } = open(t);
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await assert.rejects(services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } }), /already (running|waiting)/);
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'completed', finished.error ?? '');
  const result = finished.result as { datasetId: number; importId: number; importJobId: number };
  assert.ok(result.datasetId && result.importId && result.importJobId);
  const child = getJob(services.app.db, result.importJobId)!;
  assert.equal(child.kind, 'import');
  assert.equal(child.parent_job_id, job.id);
  assert.equal(child.status, 'completed');
  const phases = events.filter((e) => e.name === 'jobs.progress' && (e.payload as JobProgress).id === job.id).map((e) => (e.payload as JobProgress).phase);
  assert.ok(phases.includes('download') && phases.includes('import'), phases.join(','));
  const announced = events.find((e) => e.name === 'jobs.finished' && (e.payload as JobFinished).id === job.id)?.payload as JobFinished;
  assert.deepEqual([announced.kind, announced.status, (announced.result as { datasetId: number }).datasetId], ['download', 'completed', result.datasetId]);
});

test('an import whose job cannot be recorded leaves no import row running', async (t) => {
  const { services, dir } = open(t);
  const root = await photoFolder(join(dir, 'photos'), 2);
  services.app.db.exec(`CREATE TRIGGER jobs_full BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  await assert.rejects(services.request('jobs.start', { kind: 'import', input: { path: root } }), /full/);
  const statuses = services.app.db.prepare('SELECT status, error FROM imports').all() as Array<{ status: string; error: string | null }>;
  assert.deepEqual(statuses, [{ status: 'failed', error: 'database or disk is full' }]);
});

test('a second services in this process leaves the first one\'s running import alone', async (t) => {
  const { services, dir } = open(t);
  const root = await photoFolder(join(dir, 'photos'), 60);
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path: root } });
  const { id: importId } = services.app.db.prepare('SELECT id FROM imports WHERE dataset_id = ?').get(job.datasetId) as { id: number };
  const second = createServices({ paths: tempPaths(dir), host: { kind: 'web' } });
  t.after(() => second.close());
  assert.equal((await second.request('datasets.importSummary', { importId })).status, 'running');
  assert.equal((await services.app.jobs.wait(job.id)).status, 'completed');
});
