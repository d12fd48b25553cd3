// The ETA every job with done/total gets from the runtime: none until enough progress, then remaining / smoothed rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtaEstimator } from '../../../electron/jobs/eta';
import type { EtaSettings } from '../../../electron/jobs/eta';
import { ProgressThrottle } from '../../../electron/jobs/progress';
import type { JobProgress } from '../../../shared/contract/jobs';
import { timeLeftWords } from '../../../shared/time-left';
import { etaText } from '../../../electron/cli/job-runner';

const settings: EtaSettings = { minSeconds: 3, minFraction: 0.02, patientSeconds: 15, timeConstantSeconds: 20 };
const second = 1000;

test('no ETA until enough progress: not in the first seconds, nor from a sliver of the work, nor without a total', () => {
  const eta = new EtaEstimator(settings);
  eta.restart(0, 0);
  assert.equal(eta.update(50, 1000, 1 * second), null, '5% after 1 s: too soon');
  assert.equal(eta.update(0, null, 4 * second), null, 'no total: no ETA');
  const slow = new EtaEstimator(settings);
  slow.restart(0, 0);
  assert.equal(slow.update(10, 1000, 5 * second), null, '1% after 5 s: too little of the work');
  assert.ok(slow.update(20, 1000, 16 * second) !== null, 'but after 15 s with something done there is one');
});

test('a steady rate gives remaining / rate, and the last step gives 0', () => {
  const eta = new EtaEstimator(settings);
  eta.restart(0, 0);
  let seconds: number | null = null;
  for (let t = 1; t <= 30; t++) seconds = eta.update(t * 10, 1000, t * second); // 10 a second
  assert.ok(seconds !== null && Math.abs(seconds - 70) < 1e-6, `700 left at 10/s is 70 s (got ${seconds})`);
  assert.equal(eta.update(1000, 1000, 31 * second), 0);
});

test('the rate is smoothed: one stall moves the ETA a little, a lasting change of speed moves it all the way', () => {
  const eta = new EtaEstimator(settings);
  eta.restart(0, 0);
  for (let t = 1; t <= 20; t++) eta.update(t * 10, 10_000, t * second);
  const steady = eta.update(210, 10_000, 21 * second)!;
  // A 2-second stall (one huge file): the naive "recent rate" would say forever; the smoothed one barely moves.
  const stalled = eta.update(210, 10_000, 23 * second)!;
  assert.ok(stalled > steady && stalled < steady * 1.2, `a short stall moves the ETA a little (${steady.toFixed(0)} → ${stalled.toFixed(0)} s)`);
  // Then twice as fast for two minutes: the estimate follows to the new rate (20/s).
  let done = 210;
  let latest = 0;
  for (let t = 24; t <= 144; t++) latest = eta.update((done += 20), 10_000, t * second)!;
  const truth = (10_000 - done) / 20;
  assert.ok(Math.abs(latest - truth) / truth < 0.01, `after a lasting change the ETA is the new rate's (${latest.toFixed(0)} vs ${truth.toFixed(0)} s)`);
});

test('a count that goes back (a new pass) starts the estimate again', () => {
  const eta = new EtaEstimator(settings);
  eta.restart(0, 0);
  for (let t = 1; t <= 10; t++) eta.update(t * 10, 100, t * second);
  assert.equal(eta.update(5, 100, 11 * second), null, 'back to 5 of 100: no ETA until enough progress again');
});

test('the runtime throttle sends the derived ETA with jobs.progress, and a kind’s own ETA wins', () => {
  let clock = 0;
  const emitted: JobProgress[] = [];
  const throttle = new ProgressThrottle({ id: 1, kind: 'import' }, 0, { emit: (p) => emitted.push(p), save: () => undefined }, () => clock);
  const step = (done: number, etaSeconds: number | null = null) => throttle.push({ phase: 'processing', done, total: 1000, etaSeconds, message: null, detail: null });
  step(0);
  for (let t = 1; t <= 10; t++) {
    clock = t * second;
    step(t * 20);
  }
  assert.equal(emitted[1]!.etaSeconds, null, 'none after 1 s');
  assert.ok(Math.abs(emitted.at(-1)!.etaSeconds! - 40) < 1e-6, `800 left at 20/s: 40 s (got ${emitted.at(-1)!.etaSeconds})`);
  clock = 11 * second;
  step(220, 7);
  assert.equal(emitted.at(-1)!.etaSeconds, 7);
  throttle.stop();
});

test('time left in words: "about 3 min left"', () => {
  assert.equal(timeLeftWords(null), null);
  assert.equal(timeLeftWords(4), 'a few seconds left');
  assert.equal(timeLeftWords(42), 'about 40 s left');
  assert.equal(timeLeftWords(170), 'about 3 min left');
  assert.equal(timeLeftWords(59 * 60), 'about 59 min left');
  assert.equal(timeLeftWords(4900), 'about 1 h 22 min left');
  assert.equal(timeLeftWords(Number.POSITIVE_INFINITY), null);
});

test('the CLI prints the same words after its progress line', () => {
  const progress: JobProgress = { id: 3, kind: 'import', phase: 'processing', done: 900, total: 10_000, etaSeconds: 170, message: null, detail: null };
  assert.equal(etaText(progress), ', about 3 min left');
  assert.equal(etaText({ ...progress, etaSeconds: null }), '');
});
