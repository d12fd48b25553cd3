// Runs Teachable Machine's own library on exported packages: Chromium (playwright-core, /usr/bin/chromium) loads
// TensorFlow.js 1.3.1 and @teachablemachine/image 0.8.5 (the dev dependencies' dist files) from a loopback HTTP
// server, then tmImage.load(model.json, metadata.json) and model.predict(<img>) on each image, as TM's snippet does.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.PAWPRINT_CHROMIUM ?? '/usr/bin/chromium';
const require = createRequire(import.meta.url);

function resolved(spec: string): string | null {
  try {
    return require.resolve(spec);
  } catch {
    return null;
  }
}

/** tfjs 1.3.1 and TM's bundle, as installed by npm (the dev dependencies `tfjs-1.3.1` and `@teachablemachine/image`). */
export const TFJS_1_3_1 = resolved('tfjs-1.3.1/dist/tf.min.js');
export const TM_BUNDLE = resolved('@teachablemachine/image/dist/teachablemachine-image.min.js');

/** The `skip` option for a test that needs Chromium and the two libraries. */
export function needsBrowserLibraries(): false | string {
  if (!existsSync(CHROMIUM)) return `needs Chromium at ${CHROMIUM}`;
  if (!TFJS_1_3_1) return 'needs the dev dependency tfjs-1.3.1 (npm:@tensorflow/tfjs@1.3.1): run npm install';
  if (!TM_BUNDLE) return 'needs the dev dependency @teachablemachine/image 0.8.5: run npm install';
  return false;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>tm</title>
<script src="/lib/tf.min.js"></script><script src="/lib/teachablemachine-image.min.js"></script>`;

export interface TmPrediction {
  image: string;
  probabilities: number[];
  classNames: string[];
}

export interface TmBrowser {
  /** The backend tfjs 1.3.1 chose (or was set to). */
  backend: string;
  /** tmImage.load on `<folder>/model.json` + metadata.json, then predict on each image (URL paths under the root). */
  predict(folder: string, images: string[]): Promise<TmPrediction[]>;
  /** tmImage.load alone; resolves to the error message, or null when it loaded. */
  loadError(folder: string): Promise<string | null>;
  close(): Promise<void>;
}

/** Serves `root` (and the two libraries under /lib/) on 127.0.0.1 and opens a page with them loaded. */
export async function openTmBrowser(root: string, options: { backend?: 'cpu' | 'webgl' } = {}): Promise<TmBrowser> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      let file: string | null = null;
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      if (path === '/lib/tf.min.js') file = TFJS_1_3_1;
      else if (path === '/lib/teachablemachine-image.min.js') file = TM_BUNDLE;
      else {
        const candidate = normalize(join(root, path));
        if (candidate.startsWith(root + sep)) file = candidate;
      }
      try {
        if (!file) throw new Error('not found');
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const backend = await page.evaluate(async (wanted) => {
      const tf = (globalThis as unknown as { tf: { setBackend(b: string): Promise<boolean>; ready(): Promise<void>; getBackend(): string } }).tf;
      if (wanted) await tf.setBackend(wanted);
      await tf.ready();
      return tf.getBackend();
    }, options.backend ?? null);
    const opened = browser;
    return {
      backend,
      async predict(folder, images) {
        return page.evaluate(async ({ folder, images }) => {
          // The page's DOM types are not in the Node project's lib: described here as far as used.
          type Picture = { src: string; decode(): Promise<void> };
          type Model = { predict(image: Picture): Promise<Array<{ className: string; probability: number }>> };
          const Picture = (globalThis as unknown as { Image: new () => Picture }).Image;
          const tmImage = (globalThis as unknown as { tmImage: { load(model: string, metadata: string): Promise<Model> } }).tmImage;
          const model = await tmImage.load(`${folder}/model.json`, `${folder}/metadata.json`);
          const out = [];
          for (const src of images) {
            const img = new Picture();
            img.src = src;
            await img.decode();
            const result = await model.predict(img);
            out.push({ image: src, probabilities: result.map((r) => r.probability), classNames: result.map((r) => r.className) });
          }
          return out;
        }, { folder, images });
      },
      async loadError(folder) {
        return page.evaluate(async (folder) => {
          const tmImage = (globalThis as unknown as { tmImage: { load(model: string, metadata: string): Promise<unknown> } }).tmImage;
          try {
            await tmImage.load(`${folder}/model.json`, `${folder}/metadata.json`);
            return null;
          } catch (error) {
            return String((error as Error).message ?? error);
          }
        }, folder);
      },
      async close() {
        await opened.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } catch (error) {
    await browser?.close();
    server.close();
    throw error;
  }
}
