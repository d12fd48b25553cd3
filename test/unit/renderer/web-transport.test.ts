// The browser host's transport against a fake socket: what it sends, when, and how replies and drops surface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebTransport } from '../../../renderer/src/lib/web-transport';
import type { SocketConnection, SocketHandlers, WebTransportDeps } from '../../../renderer/src/lib/web-transport';
import { AppError } from '../../../shared/errors';

class FakeSocket implements SocketConnection {
  readonly sent: string[] = [];
  private open = false;
  constructor(readonly url: string, private readonly handlers: SocketHandlers) {}
  send(data: string): void {
    if (!this.open) throw new Error('sent on a socket that is not open');
    this.sent.push(data);
  }
  isOpen(): boolean {
    return this.open;
  }
  accept(): void {
    this.open = true;
    this.handlers.open();
  }
  drop(): void {
    this.open = false;
    this.handlers.close();
  }
  deliver(message: unknown): void {
    this.handlers.message(JSON.stringify(message));
  }
  /** The requests sent on this socket, parsed. */
  requests(): { id: number; channel: string; payload: unknown }[] {
    return this.sent.map((text) => JSON.parse(text) as { id: number; channel: string; payload: unknown });
  }
}

/** Every socket the transport opened, and its reconnect timers (run by hand). */
function fakeNetwork() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const deps: WebTransportDeps = {
    pageUrl: () => 'http://127.0.0.1:4100/0123abcd/#/runs',
    openSocket: (url, handlers) => {
      const socket = new FakeSocket(url, handlers);
      sockets.push(socket);
      return socket;
    },
    schedule: (callback) => void timers.push(callback),
  };
  return {
    deps,
    sockets,
    latest: () => sockets[sockets.length - 1]!,
    reconnect: () => {
      for (const timer of timers.splice(0)) timer();
    },
    allSent: () => sockets.flatMap((socket) => socket.requests()),
  };
}

test('a request reported failed while disconnected is never sent after reconnecting', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  // The first socket never opens: the cancel waits in the queue.
  const cancel = transport.invoke('jobs.cancel', { id: 7 });
  net.latest().drop();
  await assert.rejects(cancel, (error: unknown) => error instanceof AppError && error.code === 'unavailable');
  net.reconnect();
  net.latest().accept();
  assert.deepEqual(net.allSent(), [], 'the failed cancel was not sent on the new socket');
});

test('a request made between a drop and the reconnect, failed by a second drop, is not sent either', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  net.latest().accept();
  net.latest().drop();
  const start = transport.invoke('jobs.start', { kind: 'train', input: { datasetId: 1, config: {} } });
  net.reconnect();
  net.latest().drop();
  await assert.rejects(start, /Lost the connection/);
  net.reconnect();
  net.latest().accept();
  assert.deepEqual(net.allSent().map((request) => request.channel), []);
  // A request made now goes out normally.
  const info = transport.invoke('system.info', {});
  const [request] = net.latest().requests();
  assert.equal(request?.channel, 'system.info');
  net.latest().deliver({ id: request!.id, result: { ok: true, value: { host: 'web' } } });
  assert.deepEqual(await info, { host: 'web' });
});

test('a request made while connecting is sent once the socket opens', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  const info = transport.invoke('system.info', {});
  assert.deepEqual(net.latest().sent, []);
  net.latest().accept();
  const [request] = net.latest().requests();
  assert.equal(request?.channel, 'system.info');
  net.latest().deliver({ id: request!.id, result: { ok: true, value: 'answered' } });
  assert.equal(await info, 'answered');
});

test('a normal round trip, on the socket next to the page', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  assert.equal(net.latest().url, 'ws://127.0.0.1:4100/0123abcd/contract');
  assert.equal(transport.mediaUrl('thumb', 5), '/0123abcd/media/thumb/5');
  net.latest().accept();
  assert.equal(transport.state, 'open');
  const listing = transport.invoke('system.listDirectory', { path: '/data' });
  const [request] = net.latest().requests();
  assert.deepEqual({ channel: request?.channel, payload: request?.payload }, { channel: 'system.listDirectory', payload: { path: '/data' } });
  net.latest().deliver({ id: request!.id, result: { ok: true, value: { path: '/data', entries: [] } } });
  assert.deepEqual(await listing, { path: '/data', entries: [] });
});

test('an error envelope is rebuilt as an AppError with the server message', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  net.latest().accept();
  const missing = transport.invoke('system.info', {});
  const odd = transport.invoke('system.info', {});
  const [first, second] = net.latest().requests();
  net.latest().deliver({ id: first!.id, result: { ok: false, error: { code: 'not-found', message: 'No run 12: it was deleted.' } } });
  net.latest().deliver({ id: second!.id, result: { ok: false, error: { code: 'made-up', message: 'Something odd' } } });
  await assert.rejects(missing, (error: unknown) => error instanceof AppError && error.code === 'not-found' && error.message === 'No run 12: it was deleted.');
  await assert.rejects(odd, (error: unknown) => error instanceof AppError && error.code === 'internal' && error.message === 'Something odd');
});

test('events reach their subscribers until they unsubscribe; junk frames are ignored', () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  net.latest().accept();
  const seen: unknown[] = [];
  const stop = transport.subscribe('system.backendChanged', (payload) => seen.push(payload));
  net.latest().deliver({ event: 'system.backendChanged', payload: { active: 'cpu' } });
  net.latest().deliver({ event: 'jobs.progress', payload: { id: 1 } });
  (net.latest() as unknown as { handlers: SocketHandlers }).handlers.message('not json');
  net.latest().deliver(null);
  stop();
  net.latest().deliver({ event: 'system.backendChanged', payload: { active: 'webgl' } });
  assert.deepEqual(seen, [{ active: 'cpu' }]);
});

test('requests in flight fail when the socket closes, and a late answer is ignored', async () => {
  const net = fakeNetwork();
  const transport = createWebTransport(net.deps);
  const states: string[] = [];
  transport.onStateChange((state) => states.push(state));
  net.latest().accept();
  const info = transport.invoke('system.info', {});
  const [request] = net.latest().requests();
  net.latest().drop();
  await assert.rejects(info, (error: unknown) => error instanceof AppError && error.code === 'unavailable');
  assert.equal(transport.state, 'closed');
  net.reconnect();
  net.latest().accept();
  net.latest().deliver({ id: request!.id, result: { ok: true, value: 'too late' } });
  assert.deepEqual(states, ['open', 'closed', 'connecting', 'open']);
  assert.deepEqual(net.latest().sent, [], 'the failed request was not resent');
});
