// training.presets asks the worker's describe task (TensorFlow.js stays out of the host) once per class count, and
// does not keep a failed answer. The in-process test worker stands in for the worker process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServices } from '../../../electron/services/index';
import type { DescribeTaskInput, DescribeTaskResult } from '../../../electron/training/worker/task-types';
import { PRESET_NAMES } from '../../../shared/training-config';
import { inProcessWorker } from '../../support/in-process-worker';
import { tempDir, tempPaths } from '../../support/temp';

test('training.presets describes the presets in the worker once per class count and retries after a failure', async (t) => {
  const dir = tempDir('pawprint-presets-');
  let failNext = true;
  const describe = async ({ numClasses }: DescribeTaskInput): Promise<DescribeTaskResult> => {
    if (failNext) {
      failNext = false;
      throw new Error('the worker could not start');
    }
    return {
      presets: PRESET_NAMES.map((name) => ({
        name,
        model: { layers: [], totalParams: numClasses * 10, trainableParams: numClasses, inputShape: [24, 24, 3], outputShape: [numClasses] },
      })),
    };
  };
  const workers = inProcessWorker({ describe });
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { workers } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });

  await assert.rejects(services.request('training.presets', { numClasses: 2 }), /the worker could not start/);
  const two = await services.request('training.presets', { numClasses: 2 });
  assert.deepEqual(two.presets.map((preset) => preset.name), [...PRESET_NAMES]);
  assert.equal(two.presets.find((preset) => preset.name === 'cnn')?.model?.totalParams, 20);
  assert.equal(two.presets[0]?.defaults.preset, two.presets[0]?.name, 'the defaults come from the host');
  await services.request('training.presets', { numClasses: 2 });
  const three = await services.request('training.presets', { numClasses: 3 });
  assert.deepEqual(three.presets.find((preset) => preset.name === 'cnn')?.model?.outputShape, [3]);
  assert.deepEqual(workers.calls.map((call) => [call.task, call.jobId, call.input]), [
    ['describe', null, { numClasses: 2 }],
    ['describe', null, { numClasses: 2 }],
    ['describe', null, { numClasses: 3 }],
  ]);
});
