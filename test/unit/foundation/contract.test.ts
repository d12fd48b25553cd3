import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { events, requests } from '../../../shared/contract/index';
import type { Channel, Payload, Result } from '../../../shared/contract/index';
import { parseEvent, parseRequest } from '../../../shared/contract/validate';
import { AppError, toErrorInfo, unwrapEnvelope } from '../../../shared/errors';

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

test('type-level: channel payload and result types follow the schemas', () => {
  // These assignments fail to compile if the contract's inferred types drift.
  const payload: Payload<'system.listDirectory'> = { path: '/tmp' };
  const result: Result<'system.pickFolder'> = null;
  const channel: Channel = 'system.info';
  assert.ok(payload && result === null && channel);
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
