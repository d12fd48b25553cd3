import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { hostIsOurs, startWebHost } from '../../../electron/host/web';
import type { WebHost } from '../../../electron/host/web';
import { tempDir, tempPaths } from '../../support/temp';

const dir = tempDir();
let services: Services;
let web: WebHost;
let calls = 0;
/** system.listDirectory calls that reached the service. */
let listed = 0;
/** The cookie header and page base the launch redirect hands the browser (learnt, not assumed). */
let cookie = '';
let base = '';
let origin = '';

before(async () => {
  const staticRoot = join(dir.path, 'renderer');
  mkdirSync(staticRoot);
  mkdirSync(join(staticRoot, 'assets'));
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>Pawprint test</title>');
  services = createServices({
    paths: tempPaths(dir.path),
    host: { kind: 'web' },
    // Counts the directory listings that reach the service (bad payloads must not).
    aroundHandler: (channel, payload, next) => {
      if (channel === 'system.listDirectory') listed++;
      return next(payload);
    },
  });
  // Count calls that reach a service, to prove that refused requests never do.
  services.app.media.register('checked', async () => ({ path: join(dir.path, 'elsewhere.jpg'), contentType: 'image/jpeg', bytes: Buffer.from('CHECKED-BYTES') }));
  services.app.media.register('probe', async () => {
    calls++;
    return { path: join(staticRoot, 'index.html'), contentType: 'text/html' };
  });
  web = await startWebHost({ services, staticRoot, token: 'test-token-123' });
  const launch = await fetch(web.launchUrl, { redirect: 'manual' });
  cookie = (launch.headers.get('set-cookie') ?? '').split(';')[0]!;
  base = new URL(launch.headers.get('location') ?? '', web.launchUrl).href;
  origin = new URL(base).origin;
});

after(async () => {
  await web.close();
  await services.close();
  dir.cleanup();
});

test('binds to loopback and rejects requests without the token', async () => {
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\//);
  const missing = await fetch(base);
  assert.equal(missing.status, 401);
  const wrong = await fetch(`${base}?token=nope`);
  assert.equal(wrong.status, 403);
  const media = await fetch(`${base}media/probe/1`);
  assert.equal(media.status, 401);
  assert.equal(calls, 0);
});

test('the token moves into an HttpOnly cookie that then grants access', async () => {
  const first = await fetch(web.launchUrl, { redirect: 'manual' });
  assert.equal(first.status, 302);
  const setCookie = first.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  const page = await fetch(base, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Pawprint test/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const escape = await fetch(`${base}..%2f..%2fetc%2fpasswd`, { headers: { cookie } });
  assert.equal(escape.status, 404);
});

test('the cookie is bound to this launch: its path is a per-launch prefix, not the whole of 127.0.0.1', async () => {
  // Cookies ignore ports: with Path=/ every other server on 127.0.0.1 would receive the token with each request.
  const first = await fetch(web.launchUrl, { redirect: 'manual' });
  const setCookie = first.headers.get('set-cookie') ?? '';
  const path = /;\s*Path=([^;]*)/i.exec(setCookie)?.[1] ?? '/';
  assert.notEqual(path, '/', `cookie path ${path} would be sent to any port`);
  assert.ok(path.length >= 17, `path ${path} is long enough not to be guessed`);
  assert.ok(new URL(base).pathname.startsWith(path), 'the page lives under the cookie path');
  assert.match(cookie, new RegExp(`_${new URL(base).port}=`), 'the cookie name names the port');
  // A second launch gets another path.
  const otherDir = tempDir();
  const otherServices = createServices({ paths: tempPaths(otherDir.path), host: { kind: 'web' } });
  const other = await startWebHost({ services: otherServices, staticRoot: join(dir.path, 'renderer'), token: 'test-token-123' });
  try {
    assert.notEqual(new URL(other.url).pathname, new URL(base).pathname);
  } finally {
    await other.close();
    await otherServices.close();
    otherDir.cleanup();
  }
});

test('the launch redirect never leaves the origin, whatever the path', async () => {
  for (const path of ['/.//evil.example/x', '//evil.example/x', '/\\evil.example/x', '/./\\/evil.example']) {
    const response = await rawRequest(`GET ${path}?token=test-token-123 HTTP/1.1\r\nHost: ${new URL(base).host}\r\nConnection: close\r\n\r\n`);
    const status = /^HTTP\/1\.1 (\d+)/.exec(response)?.[1];
    const location = /\r\nlocation: ([^\r]*)/i.exec(response)?.[1];
    // Either the launch is redirected, and then only to this origin, or the odd path is refused outright.
    if (status === '302') assert.equal(new URL(location ?? '', base).origin, origin, `${path} redirected to ${location}`);
    else assert.ok(status === '400' || status === '404', `${path}: ${response.split('\r\n')[0]}`);
    assert.ok(status === '302' || location === undefined, `${path}: a Location only with a redirect`);
  }
});

test('a malformed percent escape is a 400, not a 500', async () => {
  const response = await fetch(`${base}%E0%A4%A`, { headers: { cookie } });
  assert.equal(response.status, 400);
  await stillServing();
});

test('a Host header naming another site is refused (DNS rebinding)', async () => {
  const { port } = new URL(base);
  const page = await rawRequest(`GET ${new URL(base).pathname} HTTP/1.1\r\nHost: evil.example:${port}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
  assert.match(page, /^HTTP\/1\.1 (403|421)/);
  const launch = await rawRequest(`GET /?token=test-token-123 HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`);
  assert.match(launch, /^HTTP\/1\.1 (403|421)/);
  const upgrade = await rawRequest(`GET ${new URL(base).pathname}contract?token=test-token-123 HTTP/1.1\r\nHost: evil.example:${port}\r\nOrigin: http://evil.example:${port}\r\nCookie: ${cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  assert.match(upgrade, /^HTTP\/1\.1 (403|421)/);
  const wrongPort = await rawRequest(`GET ${new URL(base).pathname} HTTP/1.1\r\nHost: 127.0.0.1:1\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
  assert.match(wrongPort, /^HTTP\/1\.1 (403|421)/);
  const localhost = await rawRequest(`GET ${new URL(base).pathname} HTTP/1.1\r\nHost: localhost:${port}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
  assert.match(localhost, /^HTTP\/1\.1 200/, 'localhost on the right port is still this server');
});

test('the CSP lets the page connect to its own origin only', async () => {
  const page = await fetch(base, { headers: { cookie } });
  const csp = page.headers.get('content-security-policy') ?? '';
  const connect = /connect-src ([^;]*)/.exec(csp)?.[1]?.trim().split(/\s+/) ?? [];
  assert.ok(connect.length > 0, 'connect-src is set');
  for (const source of connect) {
    assert.ok(source === "'self'" || source === `ws://${new URL(base).host}`, `connect-src allows ${source}`);
  }
});

function openSocket(headers: Record<string, string>, query = ''): Promise<WebSocket> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}contract${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`status ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The headers a browser page of this host sends when it opens the contract socket. */
function ownPage(): Record<string, string> {
  return { cookie, origin };
}

type Reply = { id: unknown; result: { ok: boolean; value?: unknown; error?: { code: string; message: string } } };

function nextReply(ws: WebSocket, matches: (message: Reply) => boolean): Promise<Reply> {
  return new Promise((resolve) => {
    const onMessage = (data: unknown) => {
      const message = JSON.parse(String(data)) as Reply;
      if (!('result' in message) || !matches(message)) return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
  });
}

function ask(ws: WebSocket, id: number, channel: string, payload: unknown): Promise<Reply> {
  const reply = nextReply(ws, (message) => message.id === id);
  ws.send(JSON.stringify({ id, channel, payload }));
  return reply;
}

test('the WebSocket upgrade needs the token, and a foreign origin is refused', async () => {
  await assert.rejects(openSocket({ origin }), /status 401/);
  await assert.rejects(openSocket({ origin, cookie: `${cookie.split('=')[0]}=bad` }), /status 403/);
  await assert.rejects(openSocket({ cookie, origin: 'http://evil.example' }), /status 403/);
});

test('a stolen cookie alone does not open the socket: it needs our Origin or the token in the URL', async () => {
  // A non-browser client (no Origin) holding the cookie, as another local server that received it would be.
  await assert.rejects(openSocket({ cookie }), /status 40[13]/);
  await assert.rejects(openSocket({ cookie, origin: `http://127.0.0.1:${Number(new URL(base).port) === 1 ? 2 : 1}` }), /status 403/);
  await assert.rejects(openSocket({}, '?token=nope'), /status 403/);
  const withOrigin = await openSocket(ownPage());
  withOrigin.close();
  const withToken = await openSocket({}, '?token=test-token-123');
  assert.equal((await ask(withToken, 1, 'system.info', {})).result.ok, true);
  withToken.close();
});

test('contract calls: valid ones answer, bad payloads get a validation error without reaching the service', async () => {
  const ws = await openSocket(ownPage());
  try {
    const info = await ask(ws, 1, 'system.info', {});
    assert.equal(info.result.ok, true);
    assert.equal((info.result.value as { host: string }).host, 'web');

    listed = 0;
    const listing = await ask(ws, 2, 'system.listDirectory', { path: 12 });
    assert.equal(listing.result.ok, false);
    assert.equal(listing.result.error?.code, 'invalid-payload');
    assert.equal(listed, 0, 'the service was not called');
    const good = await ask(ws, 5, 'system.listDirectory', { path: dir.path });
    assert.equal(good.result.ok, true);
    assert.equal(listed, 1);

    const unknown = await ask(ws, 3, 'catalogue.dropEverything', {});
    assert.equal(unknown.result.error?.code, 'unknown-channel');

    const unsupported = await ask(ws, 4, 'system.pickFolder', {});
    assert.equal(unsupported.result.error?.code, 'unsupported');
    assert.match(unsupported.result.error?.message ?? '', /desktop app/);
  } finally {
    ws.close();
  }
});

test('frames that are JSON but not a request get an error reply and the server keeps serving', async () => {
  const ws = await openSocket(ownPage());
  try {
    const frames = [
      'null',
      '[]',
      '1',
      '"x"',
      'true',
      '{"id":{},"channel":"system.info","payload":{}}',
      '{"id":[1],"channel":"system.info","payload":{}}',
      '{"id":7,"channel":5,"payload":{}}',
      '{"id":8,"channel":null,"payload":{}}',
      '{"id":9,"channel":"system.info","payload":"x"}',
      '{"id":10,"channel":"system.info","payload":[1]}',
      '{"id":11,"channel":"system.info","payload":5}',
      // A null payload means "no payload" in the contract; a channel that needs fields still refuses it.
      '{"id":12,"channel":"datasets.rename","payload":null}',
    ];
    for (const frame of frames) {
      const reply = nextReply(ws, () => true);
      ws.send(frame);
      const { result } = await reply;
      assert.equal(result.ok, false, `${frame} was refused`);
      assert.equal(result.error?.code, 'invalid-payload', frame);
      assert.ok((result.error?.message ?? '').length > 0 && !(result.error?.message ?? '').includes('\n'), 'a one-line message');
    }
    const info = await ask(ws, 13, 'system.info', {});
    assert.equal(info.result.ok, true, 'the same socket still answers');
  } finally {
    ws.close();
  }
  await stillServing();
});

test('media bytes the resolver already checked are sent as they are, not re-read from the path', async () => {
  const response = await fetch(`${base}media/checked/1`, { headers: { cookie } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'image/jpeg');
  assert.equal(await response.text(), 'CHECKED-BYTES');
  const head = await fetch(`${base}media/checked/1`, { method: 'HEAD', headers: { cookie } });
  assert.equal(head.headers.get('content-length'), '13');
});

test('events reach connected sockets', async () => {
  const ws = await openSocket(ownPage());
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
function rawRequest(text: string, port = Number(new URL(web.url).port)): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    setTimeout(() => socket.destroy(), 1000);
  });
}

async function stillServing(): Promise<void> {
  const page = await fetch(base, { headers: { cookie } });
  assert.equal(page.status, 200, 'the server still answers');
}

test('malformed requests are refused without taking the server down', async () => {
  const host = new URL(base).host;
  // An invalid URL and a malformed cookie on the WebSocket upgrade path (no token needed to send either).
  await rawRequest(`GET //[ HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
  await rawRequest(`GET ${new URL(base).pathname}contract HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nCookie: ${cookie.split('=')[0]}=%E0%A4%A\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const badUrl = await rawRequest(`GET //[ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  assert.match(badUrl, /^HTTP\/1\.1 (400|401)/);
  const noHost = await rawRequest(`GET / HTTP/1.0\r\n\r\n`);
  assert.match(noHost, /^HTTP\/1\.[01] (400|421)/);
  const badCookie = await fetch(base, { headers: { cookie: `${cookie.split('=')[0]}=%E0%A4%A` } });
  assert.equal(badCookie.status, 403);
  await stillServing();
});

test('a folder or a vanished file is a 404, not a crash', async () => {
  const folder = await fetch(`${base}assets`, { headers: { cookie } });
  assert.equal(folder.status, 404);
  services.app.media.register('gone', async () => ({ path: join(dir.path, 'no-such-file.jpg'), contentType: 'image/jpeg' }));
  const gone = await fetch(`${base}media/gone/1`, { headers: { cookie } });
  assert.equal(gone.status, 404);
  await stillServing();
});

test('a protocol-breaking WebSocket frame closes that socket only', async () => {
  const ws = await openSocket(ownPage());
  const closed = new Promise((resolve) => ws.once('close', resolve));
  // A text frame whose payload is not UTF-8: the server must drop the connection, not crash.
  const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]));
  await closed;
  await stillServing();
  const again = await openSocket(ownPage());
  const info = await ask(again, 9, 'system.info', {});
  assert.equal(info.result.ok, true);
  again.close();
});

test('served to the network, the machine is reachable by any of its names (the token still guards it)', async () => {
  const wide = await startWebHost({ services, staticRoot: join(dir.path, 'renderer'), token: 'wide-token-456', host: '0.0.0.0' });
  try {
    const { port } = new URL(wide.url);
    const launch = await rawRequest(`GET /?token=wide-token-456 HTTP/1.1\r\nHost: my-workstation.lan:${port}\r\nConnection: close\r\n\r\n`, Number(port));
    assert.match(launch, /^HTTP\/1\.1 302/, 'a name the server was not bound to is accepted');
    const noToken = await rawRequest(`GET / HTTP/1.1\r\nHost: my-workstation.lan:${port}\r\nConnection: close\r\n\r\n`, Number(port));
    assert.match(noToken, /^HTTP\/1\.1 401/);
  } finally {
    await wide.close();
  }
});

test('the Host check takes a missing port as 80, as browsers send it, and reads IPv6 literals', () => {
  assert.equal(hostIsOurs('127.0.0.1', 80, '127.0.0.1'), true);
  assert.equal(hostIsOurs('localhost', 80, '127.0.0.1'), true);
  assert.equal(hostIsOurs('127.0.0.1', 8080, '127.0.0.1'), false);
  assert.equal(hostIsOurs('[::1]:8080', 8080, '::1'), true);
  assert.equal(hostIsOurs('evil.example', 80, '127.0.0.1'), false);
  assert.equal(hostIsOurs('evil.example:80:80', 80, '127.0.0.1'), false);
});
