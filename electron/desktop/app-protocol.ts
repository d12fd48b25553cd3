// The custom protocols that replace file:// in the desktop app: pawprint-app serves the built renderer (with the CSP),
// pawprint-media serves image bytes by catalogue id. Each takes Electron's protocol and net objects as parameters
// so tests can register them on a stand-in.
import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MediaFile } from '../services/media';
import { APP_SCHEME, CSP, MEDIA_SCHEME } from './window-security';

export interface ProtocolRegistry {
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
}

/** net.fetch, used for file:// URLs only (it streams, and sets the content type from the file). */
export interface FileFetcher {
  fetch(url: string): Promise<Response>;
}

export type ResolveMedia = (kind: string, id: string) => Promise<MediaFile | null>;

/** Privileges for both schemes: standard (relative URLs, origins) and secure; not bypassing the CSP. */
export const PRIVILEGED_SCHEMES = [
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
];

const notFound = (): Response => new Response('Not found', { status: 404 });

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The regular file a pawprint-app URL path names inside `root`, or null. The path is decoded once, resolved, and
 * checked for containment both as written and after symlinks (on Windows a decoded %5C is a separator too).
 * Throws URIError for a malformed escape.
 */
export async function resolveInside(root: string, urlPathname: string): Promise<string | null> {
  const relative = decodeURIComponent(urlPathname).replace(/^\/+/, '') || 'index.html';
  if (relative.includes('\0')) return null;
  const absoluteRoot = resolve(root);
  const file = resolve(absoluteRoot, relative);
  if (!isInside(absoluteRoot, file)) return null;
  try {
    const [realRoot, realFile] = await Promise.all([realpath(absoluteRoot), realpath(file)]);
    if (!isInside(realRoot, realFile)) return null;
    // A folder would come back from net.fetch as a listing; only files are served.
    return (await stat(realFile)).isFile() ? realFile : null;
  } catch {
    return null;
  }
}

async function fetchFile(net: FileFetcher, path: string): Promise<Response | null> {
  try {
    return await net.fetch(pathToFileURL(path).toString());
  } catch {
    // Gone between the check and the read.
    return null;
  }
}

/** pawprint-app://app/<path>: the renderer's own files, from `rendererRoot` only, each with the CSP. */
export function registerAppProtocol(protocol: ProtocolRegistry, net: FileFetcher, rendererRoot: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    let file: string | null;
    try {
      file = await resolveInside(rendererRoot, new URL(request.url).pathname);
    } catch {
      return new Response('Bad request', { status: 400 });
    }
    const response = file ? await fetchFile(net, file) : null;
    if (!response) return notFound();
    const headers = new Headers(response.headers);
    headers.set('content-security-policy', CSP);
    return new Response(response.body, { status: response.status, headers });
  });
}

/** pawprint-media://media/<kind>/<id>: image bytes and thumbnails by catalogue id, never by path. */
export function registerMediaProtocol(protocol: ProtocolRegistry, net: FileFetcher, resolveMedia: ResolveMedia): void {
  protocol.handle(MEDIA_SCHEME, async (request) => {
    // The same shape the browser host accepts: a kind word and an id, nothing that could be read as a path.
    const match = /^\/([a-z][a-z0-9-]*)\/([A-Za-z0-9_-]+)$/.exec(new URL(request.url).pathname);
    if (!match) return notFound();
    const file = await resolveMedia(match[1]!, match[2]!);
    // Bytes the resolver already read and checked are served as they are, never re-read from a path that may have
    // changed since.
    if (file?.bytes) {
      const body = new Uint8Array(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength); // a view, not a copy
      return new Response(body, { headers: { 'content-type': file.contentType } });
    }
    const response = file ? await fetchFile(net, file.path) : null;
    if (!file || !response) return notFound();
    const headers = new Headers(response.headers);
    headers.set('content-type', file.contentType);
    return new Response(response.body, { status: response.status, headers });
  });
}
