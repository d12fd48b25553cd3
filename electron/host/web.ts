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

const COOKIE = 'pawprint_token';
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

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

// The same policy as the desktop window, plus ws: for the contract socket on this origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export interface WebHostOptions {
  services: Services;
  /** Built renderer (dist/renderer). */
  staticRoot: string;
  host?: string;
  port?: number;
  /** Fixed token for tests; random per launch otherwise. */
  token?: string;
}

export interface WebHost {
  server: Server;
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

function authenticate(request: IncomingMessage, url: URL, token: string): Auth {
  const offered = url.searchParams.get('token') ?? readCookie(request, COOKIE);
  if (offered === undefined || offered === null) return 'missing';
  return safeEqual(offered, token) ? 'ok' : 'wrong';
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
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
  });
  stream.pipe(response);
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { services } = options;
  const token = options.token ?? randomBytes(24).toString('hex');
  const staticRoot = normalize(options.staticRoot);

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const auth = authenticate(request, url, token);
    if (auth !== 'ok') {
      sendText(response, auth === 'missing' ? 401 : 403, auth === 'missing'
        ? 'Pawprint needs the token from the URL printed by `pawprint serve`.'
        : 'Wrong token: use the URL printed by `pawprint serve`.');
      return;
    }
    if (url.searchParams.has('token')) {
      // Move the token into a cookie and drop it from the address bar and history.
      url.searchParams.delete('token');
      response.writeHead(302, {
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname + url.search,
        'cache-control': 'no-store',
      });
      response.end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendText(response, 405, 'Method not allowed');
      return;
    }
    const media = /^\/media\/([a-z][a-z0-9-]*)\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (media) {
      const file = await services.app.media.resolve(media[1]!, media[2]!);
      if (!file) return sendText(response, 404, 'No such media');
      try {
        await sendFile(response, file.path, file.contentType, 'private, max-age=60');
      } catch {
        sendText(response, 404, 'The file is no longer on disk');
      }
      return;
    }
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const path = normalize(join(staticRoot, relative));
    if (!path.startsWith(staticRoot + sep)) return sendText(response, 404, 'Not found');
    try {
      const isIndex = relative === 'index.html';
      response.setHeader('content-security-policy', CSP);
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

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (request, socket, head) => {
    // Anything thrown here would escape every handler and end the server: a malformed request just loses its socket.
    try {
      upgrade(request, socket, head);
    } catch {
      socket.destroy();
    }
  });

  function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const auth = authenticate(request, url, token);
    // A page on another origin could open a socket here with the user's cookie; only our own pages may.
    const origin = request.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${request.headers.host}`;
    if (url.pathname !== '/contract' || auth !== 'ok' || !sameOrigin) {
      const status = auth === 'missing' ? '401 Unauthorized' : '403 Forbidden';
      socket.end(`HTTP/1.1 ${url.pathname !== '/contract' ? '404 Not Found' : status}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => attachContract(ws));
  }

  function attachContract(ws: WebSocket): void {
    const detach = services.app.events.onAny((event, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }));
    });
    ws.on('close', detach);
    // ws reports oversized, non-UTF-8 or malformed frames as 'error'; unheard, that would crash the process.
    ws.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      let message: { id?: unknown; channel?: unknown; payload?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        ws.send(JSON.stringify({ id: null, result: { ok: false, error: { code: 'invalid-payload', message: 'Not JSON' } } }));
        return;
      }
      const id = typeof message.id === 'number' ? message.id : null;
      void services.call(message.channel, message.payload).then((result) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result }));
      });
    });
  }

  const bindHost = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, bindHost, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const shownHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
  const url = `http://${shownHost}:${address.port}/`;
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
