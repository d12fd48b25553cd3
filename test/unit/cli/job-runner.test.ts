// The CLI's job follower (electron/cli/job-runner.ts): long commands print progress from jobs.progress, including the
// queue position while another cpu job runs, end on jobs.finished, and Ctrl+C cancels through jobs.cancel. Against the
// real job runtime with the fake kind of the runtime tests (registered as 'download').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandContext } from '../../../electron/cli/command';
import { runJob } from '../../../electron/cli/job-runner';
import type { JobProgress } from '../../../shared/contract/jobs';
import { servicesWithFake } from '../jobs/fake-kinds';

function context(services: CommandContext['services'], signal = new AbortController().signal) {
  const lines: string[] = [];
  const value: CommandContext = { services, json: false, log: (line) => lines.push(line), output: () => undefined, signal };
  return { value, lines };
}

const describe = (progress: JobProgress) => `${progress.phase}: ${progress.done}/${progress.total ?? '?'}`;

test('a job queued behind another prints its position, then its own progress, and ends on jobs.finished', async (t) => {
  const { services, fake } = servicesWithFake(t);
  fake.scripts.push({ title: 'first', lane: 'cpu' });
  fake.scripts.push({ title: 'second', lane: 'cpu', steps: [{ phase: 'download', done: 40, total: 100 }] });
  const { job: first } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  await fake.running('first');

  const { value, lines } = context(() => services);
  const following = runJob(services, value, async () => (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job, { describe });
  for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(lines[0] ?? '', new RegExp(`waiting for #${first.id} first \\(position 1\\)`), lines.join('\n'));
  assert.equal(lines.some((line) => line.startsWith('download:')), false, "the first job's progress is not this command's");

  fake.release('first');
  await fake.running('second');
  fake.release('second');
  const { job, finished } = await following;
  assert.equal(finished.id, job.id);
  assert.equal(finished.status, 'completed');
  assert.ok(lines.includes('download: 40/100'), lines.join('\n'));
});

test('Ctrl+C cancels the followed job through jobs.cancel and the command gets its cancelled end', async (t) => {
  const { services, fake } = servicesWithFake(t);
  fake.scripts.push({ title: 'long', lane: 'io' });
  const controller = new AbortController();
  const { value } = context(() => services, controller.signal);
  const following = runJob(services, value, async () => (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job, {
    describe, cancelNotice: 'cancelling…',
  });
  await fake.running('long');
  controller.abort();
  const { finished } = await following;
  assert.equal(finished.status, 'cancelled');
});
