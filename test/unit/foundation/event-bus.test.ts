import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../electron/services/event-bus';

const backend = (active: string) => ({ active, requested: 'auto', fallbackReasons: [], versions: {} });

test('next resolves with the first matching event only, then stops listening', async () => {
  const bus = new EventBus();
  let heard = 0;
  bus.onAny(() => heard++);
  const waiting = bus.next('system.backendChanged', (payload) => payload.active === 'wasm');
  bus.emit('system.backendChanged', backend('cpu'));
  bus.emit('system.backendChanged', backend('wasm'));
  assert.equal((await waiting).active, 'wasm');
  bus.emit('system.backendChanged', backend('wasm'));
  assert.equal(heard, 3);
  assert.equal((bus as unknown as { listeners: Set<unknown> }).listeners.size, 1, 'only the permanent listener is left');
});

test('next rejects after its timeout and detaches', async () => {
  const bus = new EventBus();
  await assert.rejects(bus.next('system.backendChanged', () => true, 20), /timed out waiting for system.backendChanged/);
  assert.equal((bus as unknown as { listeners: Set<unknown> }).listeners.size, 0);
});
