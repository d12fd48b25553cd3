// The packaged app's Electron fuses (electron-builder.config.cjs), and the check that they do not break the job
// worker: inside Electron it must start through utilityProcess (run-as-node is off) without NODE_OPTIONS or --inspect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import type { Configuration } from 'electron-builder';
import { projectRoot } from '../../../electron/build-paths';
import { utilityProcess } from '../../support/electron-stand-in';

const require = createRequire(import.meta.url);
const config = require(join(projectRoot(), 'electron-builder.config.cjs')) as Configuration;

test('fuses: no run-as-node, NODE_OPTIONS or inspect; cookies encrypted; app only from a validated app.asar', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  });
  assert.equal(config.asar, true, 'the integrity fuse needs an app.asar');
});

test('the configuration, fuses included, passes electron-builder\'s schema', async () => {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
    validateConfiguration(config: Configuration, logger: { add(key: string, value: unknown): void; isEnabled: boolean }): Promise<void>;
  };
  await validateConfiguration(config, { add: () => undefined, isEnabled: false });
  await assert.rejects(validateConfiguration({ ...config, electronFuses: { ...config.electronFuses, runAsNod: false } as Configuration['electronFuses'] }, { add: () => undefined, isEnabled: false }));
});

test('inside Electron the job worker starts with utilityProcess.fork, without execArgv or NODE_OPTIONS', async () => {
  register('../../support/electron-stand-in-hooks.mjs', import.meta.url);
  Object.defineProperty(process.versions, 'electron', { value: '45.0.0', configurable: true });
  try {
    const { launchJobWorker } = await import('../../../electron/jobs/worker/launcher');
    const worker = await launchJobWorker('Pawprint job 1');
    assert.equal(worker.kind, 'utility');
    assert.equal(utilityProcess.forked.length, 1);
    const [call] = utilityProcess.forked;
    assert.match(call!.modulePath, /job-worker-entry\.(ts|js)$/);
    assert.equal(call!.options.serviceName, 'Pawprint job 1');
    assert.equal(call!.options.execArgv, undefined);
    assert.equal((call!.options.env as Record<string, string> | undefined)?.NODE_OPTIONS, undefined);
    worker.kill();
  } finally {
    delete (process.versions as Record<string, string | undefined>).electron;
  }
});

test('under plain Node the job worker is a forked child running the same job-worker-entry', async () => {
  const { jobWorkerEntry, launchJobWorker } = await import('../../../electron/jobs/worker/launcher');
  assert.match(jobWorkerEntry().path, /electron\/jobs\/worker\/job-worker-entry\.ts$/);
  const worker = await launchJobWorker('Pawprint job 1');
  try {
    assert.equal(worker.kind, 'child');
    assert.ok(worker.pid, 'the child has a pid');
  } finally {
    worker.kill();
  }
  const exit = await new Promise<{ signal: string | null }>((resolve) => worker.onExit(resolve));
  assert.equal(exit.signal, 'SIGKILL');
});
