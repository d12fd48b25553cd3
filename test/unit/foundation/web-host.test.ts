import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
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
  mkdirSync(join(staticRoot, 'assets'));
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

/** Sends raw bytes and resolves with whatever the server answers before closing (or after a short wait). */
function rawRequest(text: string): Promise<string> {
  const { port } = new URL(web.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    setTimeout(() => socket.destroy(), 1000);
  });
}

async function stillServing(): Promise<void> {
  const page = await fetch(web.url, { headers: { cookie: 'pawprint_token=test-token-123' } });
  assert.equal(page.status, 200, 'the server still answers');
}

test('malformed requests are refused without taking the server down', async () => {
  // An invalid URL and a malformed cookie on the WebSocket upgrade path (no token needed to send either).
  await rawRequest('GET //[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  await rawRequest('GET /contract HTTP/1.1\r\nHost: x\r\nCookie: pawprint_token=%E0%A4%A\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const badUrl = await rawRequest('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(badUrl, /^HTTP\/1\.1 (400|401)/);
  const badCookie = await fetch(web.url, { headers: { cookie: 'pawprint_token=%E0%A4%A' } });
  assert.equal(badCookie.status, 403);
  await stillServing();
});

test('a folder or a vanished file is a 404, not a crash', async () => {
  const folder = await fetch(`${web.url}assets`, { headers: { cookie: 'pawprint_token=test-token-123' } });
  assert.equal(folder.status, 404);
  services.app.media.register('gone', async () => ({ path: join(dir.path, 'no-such-file.jpg'), contentType: 'image/jpeg' }));
  const gone = await fetch(`${web.url}media/gone/1`, { headers: { cookie: 'pawprint_token=test-token-123' } });
  assert.equal(gone.status, 404);
  await stillServing();
});

test('a protocol-breaking WebSocket frame closes that socket only', async () => {
  const ws = await openSocket({ cookie: 'pawprint_token=test-token-123' });
  const closed = new Promise((resolve) => ws.once('close', resolve));
  // A text frame whose payload is not UTF-8: the server must drop the connection, not crash.
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]));
  await closed;
  await stillServing();
  const again = await openSocket({ cookie: 'pawprint_token=test-token-123' });
  const info = await ask(again, 9, 'system.info', {});
  assert.equal(info.result.ok, true);
  again.close();
});
