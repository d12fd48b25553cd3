// Fake job kinds for the runtime tests: each started job takes the next scripted behaviour (lane, how long it runs,
// whether it heeds cancel). They are registered under the 'download' kind, whose result is three nullable ids, so the
// runtime's contract checks apply to them as to a real kind.
import { join } from 'node:path';
import type { JobKindSpec } from '../../../electron/jobs/kind';
import type { JobLane } from '../../../shared/contract/jobs';
import { createServices } from '../../../electron/services/index';
import type { CreateServicesOptions, Services } from '../../../electron/services/index';
import { tempDir, tempPaths } from '../../support/temp';

export interface Script {
  title: string;
  lane: JobLane;
  /** Runs until released (or cancelled, unless it ignores the signal). */
  ignoresCancel?: boolean;
  steps?: Array<{ done: number; total: number | null; phase?: string }>;
  exclusiveKey?: string;
}

export interface FakeKind {
  spec: JobKindSpec<'download', Script>;
  scripts: Script[];
  started: string[];
  abandoned: Array<{ title: string; status: string }>;
  /** Lets the running job with this title finish. */
  release(title: string): void;
  /** Resolves when the job with this title has started running. */
  running(title: string): Promise<void>;
}

export function fakeKind(): FakeKind {
  const scripts: Script[] = [];
  const started: string[] = [];
  const abandoned: Array<{ title: string; status: string }> = [];
  const releases = new Map<string, () => void>();
  const startWaiters = new Map<string, () => void>();
  const released = new Set<string>();
  const runningTitles = new Set<string>();
  const fake: FakeKind = {
    scripts,
    started,
    abandoned,
    release(title) {
      released.add(title);
      releases.get(title)?.();
    },
    running(title) {
      if (runningTitles.has(title)) return Promise.resolve();
      return new Promise((resolve) => startWaiters.set(title, resolve));
    },
    spec: {
      kind: 'download',
      lane: () => scripts[0]?.lane ?? 'io',
      async prepare() {
        const script = scripts.shift();
        if (!script) throw new Error('no script left for this fake job');
        return { title: script.title, state: script, exclusiveKey: script.exclusiveKey };
      },
      async run(ctx, script) {
        started.push(script.title);
        runningTitles.add(script.title);
        startWaiters.get(script.title)?.();
        for (const step of script.steps ?? []) ctx.progress({ phase: step.phase ?? 'working', done: step.done, total: step.total, etaSeconds: null, message: null, detail: null });
        await new Promise<void>((resolve) => {
          if (released.has(script.title)) return resolve();
          releases.set(script.title, resolve);
          if (!script.ignoresCancel) ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return { datasetId: null, importId: null, importJobId: null };
      },
      abandon(_db, job) {
        // Found interrupted at startup, a job has no state (it lived in the dead process): name it by id.
        abandoned.push({ title: job.state?.title ?? `#${job.id}`, status: job.status });
      },
      cancelGraceMs: 200,
    },
  };
  return fake;
}

/** Services on a catalogue of their own with the fake kind registered (a second one may share the folder). */
export function servicesWithFake(
  t: { after(fn: () => Promise<void> | void): void },
  options: { dir?: string; jobs?: CreateServicesOptions['jobs'] } = {},
): { services: Services; fake: FakeKind; dir: string; events: Array<{ name: string; payload: unknown }> } {
  let dir = options.dir;
  if (!dir) {
    const made = tempDir('pawprint-jobs-');
    dir = made.path;
    t.after(() => made.cleanup());
  }
  const services = createServices({ paths: tempPaths(dir), host: { kind: 'web' }, jobs: { progressIntervalMs: 0, pollMs: 50, ...options.jobs } });
  t.after(() => services.close());
  const fake = fakeKind();
  services.app.jobs.register(fake.spec);
  const events: Array<{ name: string; payload: unknown }> = [];
  services.app.events.onAny((name, payload) => events.push({ name, payload }));
  return { services, fake, dir, events };
}

export const catalogueIn = (dir: string) => join(dir, 'catalogue.db');
