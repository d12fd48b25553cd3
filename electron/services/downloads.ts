// Files the services wrote (an export's zip or folder, a label CSV) that a host may hand to the user. The client only
// ever names an opaque id this registry issued; the path stays on the server, so no request can name another file.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import yazl from 'yazl';

export interface DownloadEntry {
  path: string;
  /** The name the browser saves it as (a folder is offered as <name>.zip). */
  filename: string;
  contentType: string;
  /** A folder is zipped on the fly, entries in sorted order so two downloads are byte-identical. */
  folder: boolean;
  expiresAt: number;
}

export interface DownloadStream {
  filename: string;
  contentType: string;
  /** Known for a file; a folder's zip is streamed without a length. */
  bytes: number | null;
  body: Readable;
}

const DOWNLOAD_ID = /^d[0-9a-f]{32}$/;
const DEFAULT_LIFETIME_MS = 24 * 60 * 60 * 1000;
const CONTENT_TYPES: Record<string, string> = {
  '.zip': 'application/zip',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
};

export class DownloadRegistry {
  private readonly entries = new Map<string, DownloadEntry>();

  constructor(private readonly lifetimeMs = DEFAULT_LIFETIME_MS, private readonly now = () => Date.now()) {}

  /** Issues an id for a file or folder the caller wrote. */
  issue(path: string, options: { folder?: boolean; filename?: string } = {}): string {
    this.prune();
    const id = `d${randomBytes(16).toString('hex')}`;
    const folder = options.folder === true;
    const name = options.filename ?? (folder ? `${basename(path)}.zip` : basename(path));
    const extension = /\.[a-z0-9]+$/i.exec(name)?.[0]?.toLowerCase() ?? '';
    this.entries.set(id, {
      path,
      filename: name,
      contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
      folder,
      expiresAt: this.now() + this.lifetimeMs,
    });
    return id;
  }

  /** The entry for an id this registry issued and that has not expired; anything else (a path, a guess) is null. */
  lookup(id: string): DownloadEntry | null {
    if (!DOWNLOAD_ID.test(id)) return null;
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return null;
    }
    return entry;
  }

  /** Opens the body to send, or null when the id is unknown/expired or its file is gone or not what it was. */
  async open(id: string): Promise<DownloadStream | null> {
    const entry = this.lookup(id);
    if (!entry) return null;
    let info;
    try {
      info = await lstat(entry.path);
    } catch {
      return null;
    }
    if (entry.folder) {
      if (!info.isDirectory()) return null;
      return { filename: entry.filename, contentType: 'application/zip', bytes: null, body: await zipFolder(entry.path) };
    }
    if (!info.isFile()) return null;
    // Checked on the open handle (no symlink followed, no FIFO waited on), so a file swapped in after lstat is not sent.
    let handle;
    try {
      handle = await open(entry.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return null;
    }
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      await handle.close();
      return null;
    }
    const body = handle.createReadStream();
    return { filename: entry.filename, contentType: entry.contentType, bytes: opened.size, body };
  }

  private prune(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(id);
  }
}

/** Regular files under `root`, relative with '/' separators, sorted; links and special files are left out. */
async function listFiles(root: string, relative = ''): Promise<string[]> {
  const entries = await readdir(join(root, relative), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const inside = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(root, inside)));
    else if (entry.isFile()) files.push(inside);
  }
  return files;
}

async function zipFolder(root: string): Promise<Readable> {
  const zip = new yazl.ZipFile();
  // A fixed date, as writeZip does, keeps two downloads of one folder byte-identical.
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const file of await listFiles(root)) zip.addFile(join(root, file), file, { mtime, mode: 0o100644 });
  zip.end();
  return zip.outputStream as Readable;
}

/** RFC 6266: an ASCII fallback name plus filename* (UTF-8, percent-encoded) for anything else. */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^\.+/, '_') || 'download';
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

// One registry per app context, without widening AppContext: the services issue ids, the hosts look them up.
const registries = new WeakMap<object, DownloadRegistry>();

export function downloadsOf(app: object): DownloadRegistry {
  let registry = registries.get(app);
  if (!registry) {
    registry = new DownloadRegistry();
    registries.set(app, registry);
  }
  return registry;
}
