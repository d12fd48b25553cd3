// The browser host bounds what clients can make it hold: message size, sockets, and bytes of requests in flight.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { DEFAULT_WEB_LIMITS, startWebHost } from '../../../electron/host/web';
import type { WebHost } from '../../../electron/host/web';
import { MAX_UPLOAD_BASE64 } from '../../../shared/contract/export';
import { tempDir, tempPaths } from '../../support/temp';

const dir = tempDir();
let services: Services;
let web: WebHost;
/** Requests of system.listDirectory held back by the test (null: answered at once). */
let held: Array<() => void> | null = null;

before(async () => {
  const staticRoot = join(dir.path, 'renderer');
  mkdirSync(staticRoot);
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>Pawprint test</title>');
  services = createServices({
    paths: tempPaths(dir.path),
    host: { kind: 'web' },
    // While `held` is set, directory listings wait for the test to release them (they fill the pending budget).
    aroundHandler: (channel, payload, next) =>
      channel === 'system.listDirectory' && held ? new Promise((resolve) => held!.push(() => resolve(next(payload)))) : next(payload),
  });
  web = await startWebHost({ services, staticRoot, token: 'limits-token', limits: { maxSockets: 2, maxMessageBytes: 4096, maxPendingBytes: 3000 } });
});

after(async () => {
  await web.close();
  await services.close();
  dir.cleanup();
});

function openSocket(): Promise<WebSocket> {
  const ws = new WebSocket(`${web.url.replace('http', 'ws')}contract?token=limits-token`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`status ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close();
  });
}

type Reply = { id: unknown; result: { ok: boolean; error?: { code: string; message: string } } };

function ask(ws: WebSocket, id: number, channel: string, payload: unknown): Promise<Reply> {
  return new Promise((resolve) => {
    const onMessage = (data: unknown) => {
      const message = JSON.parse(String(data)) as Reply;
      if (message.id !== id) return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, payload }));
  });
}

test('the defaults fit the largest real message (an upload) and bound the total', () => {
  assert.ok(DEFAULT_WEB_LIMITS.maxMessageBytes >= MAX_UPLOAD_BASE64 + 1024, 'an upload of the largest allowed file fits');
  assert.ok(DEFAULT_WEB_LIMITS.maxMessageBytes < 64 * 1024 * 1024);
  const worstCase = DEFAULT_WEB_LIMITS.maxSockets * DEFAULT_WEB_LIMITS.maxMessageBytes + DEFAULT_WEB_LIMITS.maxPendingBytes;
  assert.ok(worstCase <= 400 * 1024 * 1024, `at most ${worstCase} bytes of requests held at once`);
});

test('sockets beyond the cap are refused until one closes', async () => {
  const first = await openSocket();
  const second = await openSocket();
  await assert.rejects(openSocket(), /status 503/);
  await closeSocket(first);
  const third = await openSocket();
  assert.equal((await ask(third, 1, 'system.info', {})).result.ok, true);
  await closeSocket(second);
  await closeSocket(third);
});

test('a message above the size limit closes that socket with a reason; the server keeps serving', async () => {
  const ws = await openSocket();
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ id: 1, channel: 'system.info', payload: { padding: 'x'.repeat(5000) } }));
  assert.equal(await closed, 1009, 'closed as "message too big"');
  const again = await openSocket();
  assert.equal((await ask(again, 2, 'system.info', {})).result.ok, true);
  await closeSocket(again);
});

test('requests beyond the pending-bytes budget, across sockets, get a clear error until earlier ones finish', async () => {
  const releases: (() => void)[] = [];
  held = releases;
  const left = await openSocket();
  const right = await openSocket();
  try {
    const longPath = `${dir.path}/${'a'.repeat(1100)}`;
    const first = ask(left, 1, 'system.listDirectory', { path: longPath });
    const second = ask(right, 2, 'system.listDirectory', { path: longPath });
    while (releases.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await ask(left, 3, 'system.listDirectory', { path: longPath });
    assert.equal(refused.result.ok, false);
    assert.equal(refused.result.error?.code, 'unavailable');
    assert.match(refused.result.error?.message ?? '', /busy/i);
    assert.equal(releases.length, 2, 'the refused request never reached the service');
    for (const release of releases) release();
    await Promise.all([first, second]);
    held = null;
    const after = await ask(right, 4, 'system.listDirectory', { path: longPath });
    assert.equal(after.result.error?.code === 'unavailable', false, 'the budget is free again');
  } finally {
    held = null;
    await closeSocket(left);
    await closeSocket(right);
  }
});
