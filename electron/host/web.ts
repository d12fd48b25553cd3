import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Services } from '../services/index';
import { MAX_UPLOAD_BASE64 } from '../../shared/contract/export';
import { contentDisposition, downloadsOf } from '../services/downloads';

// How the browser host keeps other local software out (cookies ignore ports, so anything else listening on
// 127.0.0.1 receives every cookie set for 127.0.0.1 with a matching path):
// - Each launch serves the UI under a random path prefix (/<session>/) and scopes the cookie to that path, so a
//   browser sends it only to URLs under that prefix; another local server would have to know the prefix to receive it.
//   The cookie is HttpOnly and SameSite=Strict, and named after the port so two launches never overwrite each other.
// - The contract socket needs the cookie AND this host's own Origin (which browsers set and pages cannot forge), or
//   the token itself in the socket URL (for non-browser clients and tests). The renderer relies on the first: it
//   opens `contract` relative to its page, so it needs no token of its own.
// - The Host header must name this host and port (an IP literal, localhost or the bound name), so a DNS-rebinding page
//   (evil.example resolving to 127.0.0.1) is refused, and the CSP lets the page connect only to its own origin.
// - No-referrer keeps the session prefix out of Referer headers.

/** What a client can make the host hold at once. */
export interface WebHostLimits {
  /** Largest single message: the largest real one is export.upload (a base64 file), plus room for its envelope. */
  maxMessageBytes: number;
  /** Open contract sockets (one per browser tab). */
  maxSockets: number;
  /** Bytes of requests received and not yet answered, across all sockets. */
  maxPendingBytes: number;
}

export const DEFAULT_WEB_LIMITS: Readonly<WebHostLimits> = {
  maxMessageBytes: MAX_UPLOAD_BASE64 + 64 * 1024,
  maxSockets: 8,
  maxPendingBytes: 96 * 1024 * 1024,
};

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

/** The same policy as the desktop window, plus the contract socket on this origin only (`host` is checked first). */
function contentSecurityPolicy(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface WebHostOptions {
  services: Services;
  /** Built renderer (dist/renderer). */
  staticRoot: string;
  host?: string;
  port?: number;
  /** Fixed token for tests; random per launch otherwise. */
  token?: string;
  limits?: Partial<WebHostLimits>;
  /** The command the user started this server with, for the page without a token (default: launchCommand()). */
  command?: string;
}

/**
 * How the user started this server, in the words they typed: `npm run serve` (npm names the script it runs),
 * else `pawprint serve --port 8080` from the arguments. The page without a token names it, not a command they never ran.
 */
export function launchCommand(argv: readonly string[] = process.argv, env: Record<string, string | undefined> = process.env): string {
  const script = env.npm_lifecycle_event;
  if (script && script !== 'npx') return `npm run ${script}`;
  const args = argv.slice(2).join(' ');
  return `pawprint ${args || 'serve'}`;
}

export interface WebHost {
  server: Server;
  /** The page's address (under this launch's path prefix); it works once the browser holds the cookie. */
  url: string;
  /** The URL to open once: it carries the token, which the server then moves into a cookie. */
  launchUrl: string;
  token: string;
  close(): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function readCookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key !== name) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      // A malformed cookie (another app on this host can set cookies for 127.0.0.1) is just a wrong token.
      return rest.join('=');
    }
  }
  return undefined;
}

type Auth = 'ok' | 'missing' | 'wrong';

function check(offered: string | null | undefined, token: string): Auth {
  if (offered === undefined || offered === null) return 'missing';
  return safeEqual(offered, token) ? 'ok' : 'wrong';
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/i;

/**
 * True when the Host header names this server: the right port and an IP literal, localhost or the bound name.
 * A DNS name other than those could be rebound to 127.0.0.1 by a hostile page, so it is refused.
 */
export function hostIsOurs(host: string | undefined, port: number, bindHost: string): boolean {
  if (!host) return false;
  // Browsers leave the port out when it is the scheme's default (80 for http).
  const match = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!match || Number(match[2] ?? 80) !== port) return false;
  const name = match[1]!.toLowerCase();
  // Served to the network (--host 0.0.0.0), users reach the machine by its own DNS names, which we cannot list; there
  // the per-launch token and path-bound cookie are the guard, since a rebound page has neither.
  if (!LOOPBACK_BINDS.has(bindHost.toLowerCase())) return true;
  return IPV4.test(name) || IPV6.test(name) || name === 'localhost' || name === bindHost.toLowerCase();
}

const LOOPBACK_BINDS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

const NO_REFERRER = { 'referrer-policy': 'no-referrer' };

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...NO_REFERRER });
  response.end(text);
}

/** Refuses a socket upgrade with a status line and a one-line reason. */
function refuseUpgrade(socket: Duplex, status: string, reason: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${reason}\n`);
}

type ContractRequest = { id: number | string | null; channel: string; payload: unknown };

/** Checks a parsed frame's shape; returns the request, or a one-line reason and whatever id could be echoed. */
function readRequest(message: unknown): ContractRequest | { id: number | string | null; problem: string } {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { id: null, problem: 'A request must be a JSON object { id, channel, payload }.' };
  }
  const { id, channel, payload } = message as Record<string, unknown>;
  const usableId = (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string' ? id : null;
  if (usableId === null) return { id: null, problem: 'A request needs an "id" that is a number or a string.' };
  if (typeof channel !== 'string') return { id: usableId, problem: 'A request needs a "channel" that is a string.' };
  return { id: usableId, channel, payload };
}

/** Streams a regular file; anything else (a folder, a vanished file) is a 404, never an unhandled stream error. */
async function sendFile(response: ServerResponse, path: string, contentType: string, cache: string): Promise<void> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error('not a file');
  const stream = createReadStream(path);
  await new Promise<void>((resolveOpen, rejectOpen) => {
    stream.once('open', () => resolveOpen());
    stream.once('error', rejectOpen);
  });
  stream.on('error', () => response.destroy());
  response.writeHead(200, {
    'content-type': contentType,
    'content-length': info.size,
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
    ...NO_REFERRER,
  });
  stream.pipe(response);
}

function sendBytes(response: ServerResponse, bytes: Buffer, contentType: string, cache: string): void {
  response.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length, 'cache-control': cache, 'x-content-type-options': 'nosniff', ...NO_REFERRER });
  response.end(response.req.method === 'HEAD' ? undefined : bytes);
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { services } = options;
  const token = options.token ?? randomBytes(24).toString('hex');
  const command = options.command ?? launchCommand();
  const missingTokenText = `Pawprint needs the token from the URL that \`${command}\` printed when it started (it ends in ?token=…): open that URL, or run \`${command}\` again for a new one.`;
  const wrongTokenText = `Wrong token: open the URL that \`${command}\` printed when it started (each start prints a new one).`;
  const limits: WebHostLimits = { ...DEFAULT_WEB_LIMITS, ...options.limits };
  const staticRoot = normalize(options.staticRoot);
  const bindHost = options.host ?? '127.0.0.1';
  // Random per launch even with a fixed test token: it is what keeps the cookie away from other local servers.
  const prefix = `/${randomBytes(12).toString('hex')}`;
  let port = 0;
  let cookieName = 'pawprint';
  let pendingBytes = 0;

  function readUrl(request: IncomingMessage): URL {
    return new URL(request.url ?? '/', 'http://localhost');
  }

  /** The path inside this launch's prefix ('' for the prefix itself), or null when the path is outside it. */
  function insidePrefix(pathname: string): string | null {
    if (pathname === prefix) return '';
    return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length + 1) : null;
  }

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = request.headers.host;
    if (!hostIsOurs(host, port, bindHost)) {
      return sendText(response, 421, `This is Pawprint on port ${port}; open it by IP address or localhost, as printed by \`pawprint serve\`.`);
    }
    const url = readUrl(request);
    const offeredToken = url.searchParams.get('token');
    if (offeredToken !== null) {
      if (check(offeredToken, token) !== 'ok') return sendText(response, 403, wrongTokenText);
      // Move the token into a cookie and drop it from the address bar and history. The Location is fixed, never built
      // from the request's path, so it cannot become `//elsewhere`.
      response.writeHead(302, {
        'set-cookie': `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=${prefix}`,
        location: `${prefix}/`,
        'cache-control': 'no-store',
        ...NO_REFERRER,
      });
      response.end();
      return;
    }
    const auth = check(readCookie(request, cookieName), token);
    if (auth !== 'ok') {
      sendText(response, auth === 'missing' ? 401 : 403, auth === 'missing' ? missingTokenText : wrongTokenText);
      return;
    }
    const inside = insidePrefix(url.pathname);
    if (inside === null) return sendText(response, 404, 'Not found');
    if (inside === '' && url.pathname === prefix) {
      response.writeHead(302, { location: `${prefix}/`, 'cache-control': 'no-store', ...NO_REFERRER });
      response.end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendText(response, 405, 'Method not allowed');
      return;
    }
    const download = /^download\/([^/]*)$/.exec(inside);
    if (download) {
      // The id is looked up, never joined to a path: `../../etc/passwd` is just an id that was never issued.
      const file = await downloadsOf(services.app).open(download[1]!);
      if (!file) return sendText(response, 404, 'No such download (unknown or expired): export again and use its Download link.');
      file.body.on('error', () => response.destroy());
      response.writeHead(200, {
        'content-type': file.contentType,
        'content-disposition': contentDisposition(file.filename),
        ...(file.bytes !== null ? { 'content-length': file.bytes } : {}),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...NO_REFERRER,
      });
      if (request.method === 'HEAD') {
        file.body.destroy();
        response.end();
      } else {
        file.body.pipe(response);
      }
      return;
    }
    const media = /^media\/([a-z][a-z0-9-]*)\/([A-Za-z0-9_-]+)$/.exec(inside);
    if (media) {
      const file = await services.app.media.resolve(media[1]!, media[2]!);
      if (!file) return sendText(response, 404, 'No such media');
      try {
        // Bytes the resolver already read and checked are sent as they are: reading the path again could serve a
        // file swapped in since the check.
        if (file.bytes) sendBytes(response, file.bytes, file.contentType, 'private, max-age=60');
        else await sendFile(response, file.path, file.contentType, 'private, max-age=60');
      } catch {
        sendText(response, 404, 'The file is no longer on disk');
      }
      return;
    }
    let relative: string;
    try {
      relative = inside === '' ? 'index.html' : decodeURIComponent(inside);
    } catch {
      return sendText(response, 400, 'Bad request: the path has a malformed %-escape.');
    }
    const path = normalize(join(staticRoot, relative));
    if (!path.startsWith(staticRoot + sep)) return sendText(response, 404, 'Not found');
    try {
      const isIndex = relative === 'index.html';
      response.setHeader('content-security-policy', contentSecurityPolicy(host!));
      await sendFile(response, path, contentTypes[extname(path)] ?? 'application/octet-stream', isIndex ? 'no-store' : 'private, max-age=3600');
    } catch {
      sendText(response, 404, 'Not found');
    }
  }

  const server = createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ERR_INVALID_URL') return sendText(response, 400, 'Bad request');
      if (!response.headersSent) sendText(response, 500, (error as Error).message);
      else response.destroy();
    });
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  server.on('upgrade', (request, socket, head) => {
    // Anything thrown here would escape every handler and end the server: a malformed request just loses its socket.
    try {
      upgrade(request, socket, head);
    } catch {
      socket.destroy();
    }
  });

  function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const host = request.headers.host;
    if (!hostIsOurs(host, port, bindHost)) return refuseUpgrade(socket, '421 Misdirected Request', 'Wrong Host header.');
    const url = readUrl(request);
    if (url.pathname !== `${prefix}/contract`) return refuseUpgrade(socket, '404 Not Found', 'Not found.');
    // Browsers always send Origin on a WebSocket upgrade and pages cannot forge it; a cookie alone (which another
    // local server may have received) is not enough without it. Non-browser clients pass the token in the URL.
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return refuseUpgrade(socket, '403 Forbidden', 'Foreign origin.');
    const urlToken = url.searchParams.get('token');
    const auth = urlToken !== null ? check(urlToken, token) : check(readCookie(request, cookieName), token);
    if (auth !== 'ok') {
      return refuseUpgrade(socket, auth === 'missing' ? '401 Unauthorized' : '403 Forbidden', 'Use the URL printed by `pawprint serve`.');
    }
    if (urlToken === null && origin === undefined) {
      return refuseUpgrade(socket, '403 Forbidden', 'A cookie alone does not open the contract socket: send Origin or ?token=.');
    }
    if (sockets.clients.size >= limits.maxSockets) {
      return refuseUpgrade(socket, '503 Service Unavailable', `Pawprint is open in ${limits.maxSockets} tabs already; close one and reload.`);
    }
    sockets.handleUpgrade(request, socket, head, (ws) => attachContract(ws));
  }

  function refuse(ws: WebSocket, id: number | string | null, code: 'invalid-payload' | 'unavailable', message: string): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result: { ok: false, error: { code, message } } }));
  }

  function attachContract(ws: WebSocket): void {
    const detach = services.app.events.onAny((event, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }));
    });
    ws.on('close', detach);
    // ws reports oversized, non-UTF-8 or malformed frames as 'error' (and closes with a reason such as 1009 for a
    // message that is too big); unheard, that would crash the process.
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength;
      let message: unknown;
      try {
        message = JSON.parse(Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as ArrayBuffer).toString());
      } catch {
        return refuse(ws, null, 'invalid-payload', 'Not JSON: send { id, channel, payload } as JSON text.');
      }
      const request = readRequest(message);
      if ('problem' in request) return refuse(ws, request.id, 'invalid-payload', request.problem);
      if (pendingBytes + size > limits.maxPendingBytes) {
        return refuse(ws, request.id, 'unavailable', 'Pawprint is busy with other large requests; try again when they finish.');
      }
      pendingBytes += size;
      void services.call(request.channel, request.payload)
        .then((result) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: request.id, result }));
        })
        .finally(() => {
          pendingBytes -= size;
        });
    });
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, bindHost, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  // Named after the port so launches on other ports never overwrite (or read) each other's cookie.
  cookieName = `pawprint_${port}`;
  const shownHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
  const url = `http://${shownHost}:${port}${prefix}/`;
  return {
    server,
    url,
    launchUrl: `${url}?token=${token}`,
    token,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
