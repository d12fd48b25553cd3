import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { events, requests, JobFinished, JobKind, JobResults, JobStart } from '../../../shared/contract/index';
import type { Channel, JobResult, PawprintApi, Payload, PayloadIn, Result, TrainJobResult } from '../../../shared/contract/index';
import { parseEvent, parseRequest } from '../../../shared/contract/validate';
import { AppError, toErrorInfo, unwrapEnvelope } from '../../../shared/errors';
import { trainingConfigInputSchema } from '../../../shared/training-config';

test('every request channel has payload and result schemas, and every event a schema', () => {
  for (const [channel, spec] of Object.entries(requests)) {
    assert.ok(spec.payload instanceof z.ZodType, `${channel} payload`);
    assert.ok(spec.result instanceof z.ZodType, `${channel} result`);
    assert.match(channel, /^[a-z]+\.[a-zA-Z]+$/, `${channel} is named domain.action`);
  }
  for (const [name, schema] of Object.entries(events)) {
    assert.ok(schema instanceof z.ZodType, name);
  }
});

// Exact type equality: true only when A and B are the same type (`any` and `unknown` are equal to nothing else).
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// Compiles only for `true`: `npm run typecheck` (which covers test/) fails when a contract type drifts or widens.
const exact = <T extends true>(): T | undefined => undefined;

test('type-level: channel payload and result types are exactly what the schemas say', () => {
  exact<Equals<Payload<'system.listDirectory'>, { path?: string | undefined }>>();
  exact<Equals<Result<'system.pickFolder'>, string | null>>();
  exact<Equals<JobResult<'train'>, z.output<typeof TrainJobResult>>>();
  exact<Equals<Parameters<PawprintApi['invoke']>[0], Channel>>();
  // @ts-expect-error an unknown channel is not a Channel
  const nope: Channel = 'system.nope';
  // @ts-expect-error a payload field of the wrong type is refused
  const bad: PayloadIn<'jobs.start'> = { kind: 'train', input: { datasetId: 'one', config: {} } };
  assert.ok(nope && bad);
});

test('every job kind has a jobs.start member and a result schema', () => {
  const startKinds = JobStart.options.map((option) => option.shape.kind.value).sort();
  assert.deepEqual(startKinds, [...JobKind.options].sort());
  assert.deepEqual(Object.keys(JobResults).sort(), [...JobKind.options].sort());
  const finishedKinds = JobFinished.options.map((option) => option.shape.kind.value).sort();
  assert.deepEqual(finishedKinds, [...JobKind.options].sort());
});

test('jobs.start accepts the smallest input of each kind and applies its defaults', () => {
  const minimal = [
    { kind: 'import', input: { path: '/photos/pets' } },
    { kind: 'download', input: { dataset: 'tutorial' } },
    { kind: 'train', input: { datasetId: 1, config: {} } },
    { kind: 'evaluate', input: { runId: 3 } },
    { kind: 'export', input: { runId: 3 } },
    { kind: 'predict', input: { model: { runId: 3 }, images: [{ path: '/photos/cat.png' }] } },
  ];
  for (const start of minimal) {
    const { payload } = parseRequest('jobs.start', start);
    assert.equal((payload as { kind: string }).kind, start.kind);
  }
  const exportStart = parseRequest('jobs.start', { kind: 'export', input: { runId: 3 } }).payload as Payload<'jobs.start'>;
  assert.deepEqual(exportStart, { kind: 'export', input: { runId: 3, target: 'tfjs', format: 'zip', overwrite: false, maxImages: 200 } });
  const predictStart = parseRequest('jobs.start', minimal[5]).payload as Payload<'jobs.start'>;
  assert.equal(predictStart.kind === 'predict' && predictStart.input.batchSize, 16);
});

test('jobs.start refuses an unknown kind and a bad input, naming the field', () => {
  const refused = (payload: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseRequest('jobs.start', payload),
      (error: unknown) => error instanceof AppError && error.code === 'invalid-payload' && pattern.test(error.message),
      JSON.stringify(payload),
    );
  const unknownKind = 'telepathy';
  assert.ok(!(JobKind.options as readonly string[]).includes(unknownKind), 'the probe must not be a kind the contract has');
  refused({ kind: unknownKind, input: {} }, /kind/);
  refused({ kind: 'train', input: { datasetId: 'one', config: {} } }, /input\.datasetId/);
  refused({ kind: 'import', input: { path: '' } }, /input\.path/);
  refused({ kind: 'evaluate', input: { runId: 1, datasetId: 2, folder: '/photos' } }, /a dataset or a folder, not both/);
  refused({ kind: 'predict', input: { model: { runId: 1 }, images: [] } }, /input\.images/);
  refused({ kind: 'export', input: { runId: 1, target: 'wavefront' } }, /input\.target/);
});

test('jobs.finished requires a result of its own kind', () => {
  const trainResult = { runId: 4, status: 'completed', bestEpoch: 2, bestValAccuracy: 0.9, testAccuracy: 0.8, testLoss: 0.4, modelPath: '/runs/4/model' };
  const ok = parseEvent('jobs.finished', { id: 7, kind: 'train', status: 'completed', result: trainResult, error: null });
  assert.equal(ok.kind, 'train');
  assert.throws(
    () => parseEvent('jobs.finished', { id: 7, kind: 'download', status: 'completed', result: trainResult, error: null }),
    /Invalid event jobs\.finished/,
  );
  assert.doesNotThrow(() => parseEvent('jobs.finished', { id: 7, kind: 'evaluate', status: 'cancelled', result: null, error: null }));
});

test('jobs.progress refuses a negative count and accepts an unknown total', () => {
  const progress = { id: 1, kind: 'import', phase: 'scanning', done: 0, total: null, etaSeconds: null, message: null, detail: null };
  assert.equal(parseEvent('jobs.progress', progress).total, null);
  assert.throws(() => parseEvent('jobs.progress', { ...progress, done: -1 }), /done/);
  const queued = { ...progress, phase: 'queued', detail: { type: 'queue', position: 2, waitingFor: [12] } };
  assert.deepEqual(parseEvent('jobs.progress', queued).detail, queued.detail);
});

test('a training config input is any part of a config, checked field by field, with no defaults added', () => {
  assert.deepEqual(trainingConfigInputSchema.parse({ preset: 'mobilenetv2' }), { preset: 'mobilenetv2' });
  // mobilenet.augmentedViews has a default in the full schema; a partial input must not receive it (the preset's wins).
  const partial = { preset: 'mobilenetv2', mobilenet: { alpha: 0.5 }, augmentation: { flip: 'both' } };
  assert.deepEqual(trainingConfigInputSchema.parse(partial), partial);
  const start = { kind: 'train', input: { datasetId: 1, config: { epochs: 3, imageSize: { height: 96 } } } };
  assert.deepEqual(parseRequest('jobs.start', start).payload, start);
  assert.throws(
    () => parseRequest('jobs.start', { kind: 'train', input: { datasetId: 1, config: { epochs: 'many' } } }),
    (error: unknown) => error instanceof AppError && error.code === 'invalid-payload' && /input\.config\.epochs/.test(error.message),
  );
  assert.throws(
    () => parseRequest('jobs.start', { kind: 'train', input: { datasetId: 1, config: { augmentation: { flip: 'sideways' } } } }),
    (error: unknown) => error instanceof AppError && /input\.config\.augmentation\.flip/.test(error.message),
  );
  // Custom layers stay unchecked here: the training service explains each bad layer in words.
  assert.doesNotThrow(() => parseRequest('jobs.start', { kind: 'train', input: { datasetId: 1, config: { customLayers: [{ type: 'wormhole' }] } } }));
  // training.validateConfig exists to explain a broken config, so its payload takes any object.
  assert.doesNotThrow(() => parseRequest('training.validateConfig', { config: { epochs: 'many' } }));
});

test('removed channels are refused: system.probeBackend had no caller', () => {
  assert.throws(() => parseRequest('system.probeBackend', {}), (error: unknown) => error instanceof AppError && error.code === 'unknown-channel');
});

test('unknown channels and invalid payloads are refused with codes', () => {
  assert.throws(() => parseRequest('nope.nothing', {}), (error: unknown) => error instanceof AppError && error.code === 'unknown-channel');
  assert.throws(() => parseRequest('__proto__', {}), (error: unknown) => error instanceof AppError && error.code === 'unknown-channel');
  assert.throws(
    () => parseRequest('system.listDirectory', { path: 42 }),
    (error: unknown) => error instanceof AppError && error.code === 'invalid-payload' && /path/.test(error.message),
  );
  assert.throws(
    () => parseRequest('system.openExternal', { url: 'file:///etc/passwd' }),
    (error: unknown) => error instanceof AppError && error.code === 'invalid-payload',
  );
  assert.deepEqual(parseRequest('system.openExternal', { url: 'https://example.org/' }).payload, { url: 'https://example.org/' });
  assert.deepEqual(parseRequest('system.info', undefined).payload, {});
});

test('events are validated before they are pushed', () => {
  assert.throws(() => parseEvent('system.backendChanged', { active: 3 }), /Invalid event/);
  const ok = parseEvent('system.backendChanged', { active: 'wasm', requested: 'auto', fallbackReasons: [], versions: {} });
  assert.equal(ok.active, 'wasm');
});

test('errors round-trip through the envelope as real errors', () => {
  const info = toErrorInfo(new AppError('not-found', 'No run 7'));
  assert.deepEqual(info, { code: 'not-found', message: 'No run 7' });
  assert.throws(() => unwrapEnvelope({ ok: false, error: info }), (error: unknown) => error instanceof AppError && error.code === 'not-found' && error.message === 'No run 7');
  assert.equal(unwrapEnvelope({ ok: true, value: 5 }), 5);
  assert.deepEqual(toErrorInfo(new TypeError('boom')), { code: 'internal', message: 'boom' });
});

test('the per-domain channels that jobs.* replaced are gone: long tasks have one start, cancel, progress and end', () => {
  const replacedRequests = ['training.start', 'training.cancel', 'training.active', 'datasets.import', 'datasets.cancelImport', 'datasets.downloadTutorial', 'datasets.cancelDownload'];
  const replacedEvents = ['datasets.importProgress', 'datasets.importFinished', 'datasets.downloadProgress', 'datasets.downloadFinished', 'training.progress', 'training.finished', 'training.log', 'runs.evaluationProgress'];
  assert.deepEqual(replacedRequests.filter((channel) => channel in requests), []);
  assert.deepEqual(replacedEvents.filter((name) => name in events), []);
  for (const channel of replacedRequests) assert.throws(() => parseRequest(channel, {}), (error: unknown) => error instanceof AppError, channel);
  // What the live curves need beyond the job's events stays.
  assert.ok('training.started' in events && 'training.epoch' in events);
});
