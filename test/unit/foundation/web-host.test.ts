import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { startWebHost } from '../../../electron/host/web';
import type { WebHost } from '../../../electron/host/web';
import { tempDir, tempPaths } from '../../support/temp';

const dir = tempDir();
let services: Services;
let web: WebHost;
let calls = 0;

before(async () => {
  const staticRoot = join(dir.path, 'renderer');
  mkdirSync(staticRoot);
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>Pawprint test</title>');
  services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  // Count calls that reach a service, to prove that refused requests never do.
  services.app.media.register('probe', async () => {
    calls++;
    return { path: join(staticRoot, 'index.html'), contentType: 'text/html' };
  });
  web = await startWebHost({ services, staticRoot, token: 'test-token-123' });
});

after(async () => {
  await web.close();
  await services.close();
  dir.cleanup();
});

test('binds to loopback and rejects requests without the token', async () => {
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const missing = await fetch(web.url);
  assert.equal(missing.status, 401);
  const wrong = await fetch(`${web.url}?token=nope`);
  assert.equal(wrong.status, 403);
  const media = await fetch(`${web.url}media/probe/1`);
  assert.equal(media.status, 401);
  assert.equal(calls, 0);
});

test('the token moves into an HttpOnly cookie that then grants access', async () => {
  const first = await fetch(web.launchUrl, { redirect: 'manual' });
  assert.equal(first.status, 302);
  const cookie = first.headers.get('set-cookie') ?? '';
  assert.match(cookie, /pawprint_token=test-token-123; HttpOnly; SameSite=Strict/);
  const page = await fetch(web.url, { headers: { cookie: 'pawprint_token=test-token-123' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Pawprint test/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const escape = await fetch(`${web.url}..%2f..%2fetc%2fpasswd`, { headers: { cookie: 'pawprint_token=test-token-123' } });
  assert.equal(escape.status, 404);
});

function openSocket(headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${web.url.replace('http', 'ws')}contract`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`status ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

function ask(ws: WebSocket, id: number, channel: string, payload: unknown): Promise<{ id: number; result: { ok: boolean; value?: unknown; error?: { code: string; message: string } } }> {
  return new Promise((resolve) => {
    const onMessage = (data: unknown) => {
      const message = JSON.parse(String(data));
      if (message.id === id) {
        ws.off('message', onMessage);
        resolve(message);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, payload }));
  });
}

test('the WebSocket upgrade needs the token, and a foreign origin is refused', async () => {
  await assert.rejects(openSocket({}), /status 401/);
  await assert.rejects(openSocket({ cookie: 'pawprint_token=bad' }), /status 403/);
  await assert.rejects(openSocket({ cookie: 'pawprint_token=test-token-123', origin: 'http://evil.example' }), /status 403/);
});

test('contract calls: valid ones answer, bad payloads get a validation error without reaching the service', async () => {
  const ws = await openSocket({ cookie: 'pawprint_token=test-token-123' });
  try {
    const info = await ask(ws, 1, 'system.info', {});
    assert.equal(info.result.ok, true);
    assert.equal((info.result.value as { host: string }).host, 'web');

    let listed = 0;
    const original = services.handlers['system.listDirectory'];
    services.handlers['system.listDirectory'] = async (payload) => {
      listed++;
      return original(payload);
    };
    const listing = await ask(ws, 2, 'system.listDirectory', { path: 12 });
    assert.equal(listing.result.ok, false);
    assert.equal(listing.result.error?.code, 'invalid-payload');
    assert.equal(listed, 0, 'the service was not called');
    const good = await ask(ws, 5, 'system.listDirectory', { path: dir.path });
    assert.equal(good.result.ok, true);
    assert.equal(listed, 1);
    services.handlers['system.listDirectory'] = original;

    const unknown = await ask(ws, 3, 'catalogue.dropEverything', {});
    assert.equal(unknown.result.error?.code, 'unknown-channel');

    const unsupported = await ask(ws, 4, 'system.pickFolder', {});
    assert.equal(unsupported.result.error?.code, 'unsupported');
    assert.match(unsupported.result.error?.message ?? '', /desktop app/);
  } finally {
    ws.close();
  }
});

test('events reach connected sockets', async () => {
  const ws = await openSocket({ cookie: 'pawprint_token=test-token-123' });
  try {
    const received = new Promise<unknown>((resolve) => ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.event === 'system.backendChanged') resolve(message.payload);
    }));
    services.app.events.emit('system.backendChanged', { active: 'cpu', requested: 'cpu', fallbackReasons: [], versions: {} });
    assert.deepEqual(await received, { active: 'cpu', requested: 'cpu', fallbackReasons: [], versions: {} });
  } finally {
    ws.close();
  }
});
