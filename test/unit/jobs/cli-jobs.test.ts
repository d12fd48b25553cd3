// `pawprint jobs` lists the jobs of a catalogue whichever process runs them, with kind, status, progress and owner;
// `pawprint jobs cancel <id>` stops one (another runtime's job: through the catalogue, its owner cancels it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { JobInfo } from '../../../shared/contract/jobs';
import { runCli } from '../../../electron/cli/main';
import { bootTimeSeconds } from '../../../electron/catalogue/process-owner';
import { catalogueIn, servicesWithFake } from './fake-kinds';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, out, err };
}

test('pawprint jobs --json lists a running job with kind, status, progress and owner; jobs cancel ends it', async (t) => {
  const { services, fake, dir } = servicesWithFake(t);
  fake.scripts.push({ title: 'Download the tutorial dataset', lane: 'io', steps: [{ phase: 'download', done: 40, total: 100 }] });
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await fake.running('Download the tutorial dataset');

  const listed = capture();
  assert.equal(await runCli(['jobs', '--json', '--db', catalogueIn(dir)], listed.io), 0, listed.err.join('\n'));
  assert.equal(listed.out.length, 1, 'one JSON document');
  const { jobs } = JSON.parse(listed.out[0]!) as { jobs: JobInfo[] };
  const row = jobs.find((j) => j.id === job.id)!;
  assert.equal(row.kind, 'download');
  assert.equal(row.status, 'running');
  assert.equal(row.owner.pid, process.pid);
  assert.equal(row.owner.host, hostname());
  assert.deepEqual([row.progress?.phase, row.progress?.done, row.progress?.total], ['download', 40, 100]);

  const cancelled = capture();
  assert.equal(await runCli(['jobs', 'cancel', String(job.id), '--db', catalogueIn(dir)], cancelled.io), 0, cancelled.err.join('\n'));
  assert.match(cancelled.out.join('\n'), new RegExp(`to cancel job ${job.id}`));
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'cancelled');

  const again = capture();
  assert.equal(await runCli(['jobs', 'cancel', String(job.id), '--db', catalogueIn(dir)], again.io), 0);
  assert.match(again.out.join('\n'), /had already ended: cancelled/);
});

test('the human table names another process as the owner and shows the queue position', async (t) => {
  const { services, fake, dir } = servicesWithFake(t);
  fake.scripts.push({ title: 'Train cnn on pets', lane: 'cpu' }, { title: 'Train mobilenet on pets', lane: 'cpu' });
  const first = (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job;
  await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await fake.running('Train cnn on pets');
  // The first job as if another live process on this machine ran it (the test process's parent stands in).
  services.app.db.prepare('UPDATE jobs SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds()}`, first.id);
  const listed = capture();
  assert.equal(await runCli(['jobs', '--active', '--db', catalogueIn(dir)], listed.io), 0, listed.err.join('\n'));
  const text = listed.out.join('\n');
  assert.match(text, /^id\s+kind\s+status\s+title\s+progress\s+eta\s+owner\s+age/m);
  assert.match(text, new RegExp(`^${first.id}\\s+download\\s+running\\s+Train cnn on pets.*pid ${process.ppid} on ${hostname()}`, 'm'));
  assert.match(text, /queued\s+Train mobilenet on pets\s+waiting, position 1/);
  fake.release('Train cnn on pets');
  fake.release('Train mobilenet on pets');
});

test('bad jobs command lines get one line and exit 2; an unknown id says how to find one', async (t) => {
  const { dir } = servicesWithFake(t);
  for (const argv of [['jobs', 'cancel'], ['jobs', 'cancel', 'abc'], ['jobs', 'frob'], ['jobs', '--kind', 'bake']]) {
    const run = capture();
    assert.equal(await runCli([...argv, '--db', catalogueIn(dir)], run.io), 2, argv.join(' '));
    assert.equal(run.err.length, 1, run.err.join('\n'));
  }
  const missing = capture();
  assert.notEqual(await runCli(['jobs', 'show', '999', '--db', catalogueIn(dir)], missing.io), 0);
  assert.match(missing.err.join('\n'), /No job 999; pawprint jobs lists the jobs/);
});
