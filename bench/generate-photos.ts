// A seeded generator of realistic-size photos for the scale bench (issue 17): N distinct JPEGs of about 400x300
// (quality 85, 20-60 KB like a downsized phone photo) in one folder per class, made on worker threads.
//
//   node --import tsx bench/generate-photos.ts --n 100000 --out /tmp/photos [--seed 1] [--classes cat,dog] [--threads 2]
//
// Every photo depends only on (seed, index, classes): the same arguments give byte-identical files, whichever thread
// made them. No two photos look alike: each has its own blotchy background (two octaves of value noise around a random
// base colour), film grain and a few grey distractor shapes. The class is learnable but not trivial: each class has
// its own shape kind (ellipse, box, triangle, ring, ...) and colour family, with the hue, size, position and shading
// of that object jittered per photo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { mixSeeds, mulberry32, type Rng } from '../shared/random';

export const DEFAULT_CLASSES = ['cat', 'dog'];
export const JPEG_QUALITY = 85;
/** Bumped whenever the pictures change, so a cached folder made by an older generator is not reused. */
export const GENERATOR_VERSION = 1;

const SHAPE_KINDS = ['ellipse', 'box', 'triangle', 'ring', 'diamond', 'cross'] as const;
type ShapeKind = (typeof SHAPE_KINDS)[number];

/** Where photo `index` goes, relative to the output folder: <class>/<class>-<index>.jpg (classes taken in turn). */
export function photoPath(index: number, classes: readonly string[]): string {
  const name = classes[index % classes.length]!;
  return `${name}/${name}-${String(index).padStart(6, '0')}.jpg`;
}

/** The class index photo `index` belongs to. */
export function photoClass(index: number, classes: readonly string[]): number {
  return index % classes.length;
}

function hsvToRgb(hueDegrees: number, saturation: number, value: number): [number, number, number] {
  const h = (((hueDegrees % 360) + 360) % 360) / 60;
  const c = value * saturation;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const m = value - c;
  const [r, g, b] = h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] : h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/**
 * Adds a coarse grid of random colour offsets, bilinearly interpolated over the image, to `pixels`: soft blotches
 * (value noise). Rows of the grid are blended once per image row, so each pixel costs three lerps.
 */
function addValueNoise(pixels: Float32Array, rng: Rng, width: number, height: number, cellsX: number, cellsY: number, amplitude: number): void {
  const gx = cellsX + 1;
  const grid = new Float32Array(gx * (cellsY + 1) * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = (rng() * 2 - 1) * amplitude;
  const column = new Int32Array(width);
  const along = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = (x / width) * cellsX;
    column[x] = Math.floor(fx) * 3;
    along[x] = fx - Math.floor(fx);
  }
  const row = new Float32Array(gx * 3);
  for (let y = 0; y < height; y++) {
    const fy = (y / height) * cellsY;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const top = y0 * gx * 3;
    const bottom = top + gx * 3;
    for (let i = 0; i < gx * 3; i++) row[i] = grid[top + i]! + (grid[bottom + i]! - grid[top + i]!) * ty;
    let o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const c = column[x]!;
      const t = along[x]!;
      pixels[o++]! += row[c]! + (row[c + 3]! - row[c]!) * t;
      pixels[o++]! += row[c + 1]! + (row[c + 4]! - row[c + 1]!) * t;
      pixels[o++]! += row[c + 2]! + (row[c + 5]! - row[c + 2]!) * t;
    }
  }
}

/** Whether (u, v), in the shape's own frame (-1..1 on each axis), is inside a shape of this kind. */
function inside(kind: ShapeKind, u: number, v: number): boolean {
  switch (kind) {
    case 'ellipse':
      return u * u + v * v <= 1;
    case 'box':
      return Math.abs(u) <= 0.85 && Math.abs(v) <= 0.85;
    case 'triangle':
      return v <= 0.9 && v >= 1.8 * Math.abs(u) - 0.9;
    case 'ring': {
      const r = u * u + v * v;
      return r <= 1 && r >= 0.36;
    }
    case 'diamond':
      return Math.abs(u) + Math.abs(v) <= 1;
    case 'cross':
      return (Math.abs(u) <= 0.3 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 1);
  }
}

interface Shape {
  kind: ShapeKind;
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  angle: number;
  rgb: [number, number, number];
  /** Light falls from this direction across the shape (shading from 1 - shade to 1 + shade). */
  lightX: number;
  lightY: number;
  shade: number;
}

function drawShape(pixels: Float32Array, width: number, height: number, shape: Shape): void {
  const reach = Math.max(shape.rx, shape.ry);
  const cos = Math.cos(shape.angle);
  const sin = Math.sin(shape.angle);
  const x0 = Math.max(0, Math.floor(shape.cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(shape.cx + reach));
  const y0 = Math.max(0, Math.floor(shape.cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(shape.cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - shape.cx;
      const dy = y - shape.cy;
      const u = (dx * cos + dy * sin) / shape.rx;
      const v = (-dx * sin + dy * cos) / shape.ry;
      if (!inside(shape.kind, u, v)) continue;
      const light = 1 + shape.shade * (u * shape.lightX + v * shape.lightY);
      const o = (y * width + x) * 3;
      pixels[o] = shape.rgb[0] * light;
      pixels[o + 1] = shape.rgb[1] * light;
      pixels[o + 2] = shape.rgb[2] * light;
    }
  }
}

/** Film grain: a few fixed tables of seeded noise (a per-pixel generator would dominate the time), read from a per-photo offset. */
const GRAIN_LEVELS = [13, 17, 21, 26];
const GRAIN_TABLE_SIZE = 1 << 16;
const grainTables = GRAIN_LEVELS.map((level, i) => {
  const rng = mulberry32(mixSeeds('grain', i));
  return Int8Array.from({ length: GRAIN_TABLE_SIZE }, () => Math.round((rng() * 2 - 1) * level));
});

/**
 * What photo `index` looks like, drawn at half size (drawing is the costly part; the JPEG is the scene enlarged 2x
 * plus full-size grain): a pure function of (seed, index, classes).
 */
export interface Scene {
  /** RGB pixels, sceneWidth x sceneHeight. */
  data: Buffer;
  sceneWidth: number;
  sceneHeight: number;
  width: number;
  height: number;
  grainLevel: number;
  grainOffset: number;
}

export function renderScene(seed: number, index: number, classes: readonly string[]): Scene {
  const rng = mulberry32(mixSeeds(seed, index, classes.length));
  const sceneWidth = 180 + Math.floor(rng() * 41);
  const sceneHeight = 135 + Math.floor(rng() * 31);
  const width = sceneWidth;
  const height = sceneHeight;

  // Background: a muted base colour, large soft blotches, finer texture on top.
  const base = hsvToRgb(rng() * 360, 0.1 + rng() * 0.3, 0.35 + rng() * 0.5);
  const pixels = new Float32Array(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) {
    pixels[i] = base[0];
    pixels[i + 1] = base[1];
    pixels[i + 2] = base[2];
  }
  addValueNoise(pixels, rng, width, height, 3 + Math.floor(rng() * 5), 2 + Math.floor(rng() * 4), 30 + rng() * 40);
  addValueNoise(pixels, rng, width, height, 16 + Math.floor(rng() * 16), 12 + Math.floor(rng() * 12), 8 + rng() * 12);
  const minSide = Math.min(width, height);
  const randomShape = (kind: ShapeKind, radius: number, rgb: [number, number, number]): Shape => ({
    kind,
    cx: radius + rng() * (width - 2 * radius),
    cy: radius + rng() * (height - 2 * radius),
    rx: radius * (0.8 + rng() * 0.4),
    ry: radius * (0.8 + rng() * 0.4),
    angle: (rng() - 0.5) * 0.8,
    rgb,
    lightX: rng() * 2 - 1,
    lightY: rng() * 2 - 1,
    shade: 0.1 + rng() * 0.2,
  });
  // Distractors: greyish shapes of any kind, smaller than the subject, drawn behind it.
  const distractors = 1 + Math.floor(rng() * 3);
  for (let d = 0; d < distractors; d++) {
    const kind = SHAPE_KINDS[Math.floor(rng() * SHAPE_KINDS.length)]!;
    drawShape(pixels, width, height, randomShape(kind, minSide * (0.06 + rng() * 0.1), hsvToRgb(rng() * 360, rng() * 0.25, 0.2 + rng() * 0.7)));
  }
  // The subject: the class's shape kind in the class's colour family.
  const classIndex = photoClass(index, classes);
  const hue = (classIndex * 360) / classes.length + (rng() - 0.5) * (200 / classes.length);
  const subject = hsvToRgb(hue, 0.5 + rng() * 0.45, 0.45 + rng() * 0.5);
  drawShape(pixels, width, height, randomShape(SHAPE_KINDS[classIndex % SHAPE_KINDS.length]!, minSide * (0.16 + rng() * 0.14), subject));

  const data = Buffer.alloc(pixels.length);
  new Uint8ClampedArray(data.buffer, data.byteOffset, data.length).set(pixels);
  return { data, sceneWidth, sceneHeight, width: sceneWidth * 2, height: sceneHeight * 2, grainLevel: Math.floor(rng() * GRAIN_LEVELS.length), grainOffset: Math.floor(rng() * GRAIN_TABLE_SIZE) };
}

/** The scene enlarged 2x (each scene pixel becomes 2x2) with full-size grain added, in one pass: the photo's RGB pixels. */
export function photoPixels(scene: Scene): Buffer {
  const out = Buffer.allocUnsafe(scene.width * scene.height * 3);
  const pixels = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const grain = grainTables[scene.grainLevel]!;
  const mask = GRAIN_TABLE_SIZE - 1;
  const sceneRow = scene.sceneWidth * 3;
  let o = 0;
  let g = scene.grainOffset;
  for (let y = 0; y < scene.height; y++) {
    const rowStart = (y >> 1) * sceneRow;
    for (let x = 0; x < scene.width; x++) {
      const s = rowStart + (x >> 1) * 3;
      pixels[o++] = scene.data[s]! + grain[g]!;
      pixels[o++] = scene.data[s + 1]! + grain[(g + 1) & mask]!;
      pixels[o++] = scene.data[s + 2]! + grain[(g + 2) & mask]!;
      g = (g + 3) & mask;
    }
  }
  return out;
}

/** Photo `index` as JPEG bytes. */
export async function encodePhoto(seed: number, index: number, classes: readonly string[]): Promise<Buffer> {
  const scene = renderScene(seed, index, classes);
  return sharp(photoPixels(scene), { raw: { width: scene.width, height: scene.height, channels: 3 } }).jpeg({ quality: JPEG_QUALITY }).toBuffer();
}

export interface GenerateOptions {
  n: number;
  out: string;
  seed?: number;
  classes?: readonly string[];
  /** Worker threads (default: one per CPU). 0 makes them on this thread (tests, tiny N). */
  threads?: number;
  onProgress?(done: number, total: number): void;
}

export interface GenerateSummary {
  files: number;
  bytes: number;
  seconds: number;
  imagesPerSecond: number;
  threads: number;
  /** CPU time of this process (every thread, sharp's included) per photo: the rate a quiet machine would reach is
   * about cores / this, whatever else was running during the measurement. */
  cpuMillisecondsPerImage: number;
  classes: Record<string, number>;
}

/** Messages between generatePhotos and its threads (bench/_generate-photos-worker.ts). */
export type GenerateRequest = { type: 'batch'; from: number; to: number } | { type: 'stop' };
export type GenerateReply = { type: 'done'; from: number; to: number; bytes: number } | { type: 'failed'; message: string };
export interface GenerateWorkerData {
  seed: number;
  out: string;
  classes: string[];
}

/** Writes photos from..to-1 into `out`; answers the bytes written. Keeps two encodes in flight (sharp encodes off-thread). */
export async function writePhotos(data: GenerateWorkerData, from: number, to: number): Promise<number> {
  let bytes = 0;
  const inFlight: Array<Promise<void>> = [];
  for (let index = from; index < to; index++) {
    const file = path.join(data.out, photoPath(index, data.classes));
    inFlight.push(
      encodePhoto(data.seed, index, data.classes).then((jpeg) => {
        writeFileSync(file, jpeg);
        bytes += jpeg.length;
      }),
    );
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return bytes;
}

function workerScript(): { script: string | URL; eval: boolean } {
  const source = new URL('./_generate-photos-worker.ts', import.meta.url).href;
  // From source under tsx: load the .ts worker through tsx's API (a plain Worker cannot load TypeScript).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return { script: `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`, eval: true };
}

/** Writes options.n photos into options.out/<class>/ and answers how many, how big and how fast. */
export async function generatePhotos(options: GenerateOptions): Promise<GenerateSummary> {
  const seed = options.seed ?? 1;
  const classes = [...(options.classes ?? DEFAULT_CLASSES)];
  if (!Number.isInteger(options.n) || options.n < 1) throw new Error(`--n must be a whole number of photos, at least 1 (got ${options.n})`);
  if (classes.length < 2) throw new Error('give at least two classes (e.g. --classes cat,dog)');
  for (const name of classes) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`class name "${name}" must be letters, digits, - or _ (it becomes a folder name)`);
  }
  if (new Set(classes).size !== classes.length) throw new Error('class names must differ');
  for (const name of classes) mkdirSync(path.join(options.out, name), { recursive: true });
  const data: GenerateWorkerData = { seed, out: options.out, classes };
  const threads = Math.max(0, Math.min(options.threads ?? availableParallelism(), Math.ceil(options.n / 16)));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let bytes = 0;
  let done = 0;
  if (threads === 0) {
    for (let from = 0; from < options.n; from += 64) {
      const to = Math.min(options.n, from + 64);
      bytes += await writePhotos(data, from, to);
      done = to;
      options.onProgress?.(done, options.n);
    }
  } else {
    // Small batches keep both threads busy to the end; 64 at most keeps the messages few.
    const batch = Math.max(1, Math.min(64, Math.ceil(options.n / (threads * 4))));
    let next = 0;
    const { script, eval: isEval } = workerScript();
    await Promise.all(
      Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
        const worker = new Worker(script, { eval: isEval, workerData: data });
        const sendNext = () => {
          if (next >= options.n) {
            worker.postMessage({ type: 'stop' } satisfies GenerateRequest);
            return;
          }
          const from = next;
          next = Math.min(options.n, next + batch);
          worker.postMessage({ type: 'batch', from, to: next } satisfies GenerateRequest);
        };
        worker.on('message', (reply: GenerateReply) => {
          if (reply.type === 'failed') {
            reject(new Error(`a generator thread failed: ${reply.message}`));
            void worker.terminate();
            return;
          }
          bytes += reply.bytes;
          done += reply.to - reply.from;
          options.onProgress?.(done, options.n);
          sendNext();
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a generator thread exited with code ${code}`))));
        sendNext();
      })),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const perClass: Record<string, number> = {};
  for (let c = 0; c < classes.length; c++) perClass[classes[c]!] = Math.floor(options.n / classes.length) + (c < options.n % classes.length ? 1 : 0);
  return { files: options.n, bytes, seconds, imagesPerSecond: options.n / seconds, threads, cpuMillisecondsPerImage: (cpu.user + cpu.system) / 1000 / options.n, classes: perClass };
}

export interface GenerateArgs {
  n: number;
  out: string;
  seed: number;
  classes: string[];
  threads?: number;
}

/** Parses the command line; throws a one-line message for anything wrong. */
export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!['--n', '--out', '--seed', '--classes', '--threads'].includes(flag)) throw new Error(`unknown option ${flag} (use --n N --out DIR [--seed S] [--classes a,b] [--threads T])`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    values.set(flag, value);
    i++;
  }
  const whole = (flag: string, min: number): number | undefined => {
    const text = values.get(flag);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`${flag} must be a whole number >= ${min} (got "${text}")`);
    return value;
  };
  const n = whole('--n', 1);
  const out = values.get('--out');
  if (n === undefined || out === undefined) throw new Error('give --n N and --out DIR (e.g. --n 2000 --out /tmp/photos)');
  const classes = values.has('--classes') ? values.get('--classes')!.split(',').map((name) => name.trim()).filter(Boolean) : [...DEFAULT_CLASSES];
  return { n, out: path.resolve(out), seed: whole('--seed', 0) ?? 1, classes, threads: whole('--threads', 0) };
}

async function main(): Promise<void> {
  let args: GenerateArgs;
  try {
    args = parseGenerateArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`generate-photos: ${(error as Error).message}`);
    process.exit(2);
  }
  let lastReport = 0;
  try {
    const summary = await generatePhotos({
      ...args,
      onProgress(done, total) {
        if (performance.now() - lastReport < 2000 && done < total) return;
        lastReport = performance.now();
        process.stderr.write(`\r${done}/${total}`);
      },
    });
    process.stderr.write('\n');
    console.log(`${summary.files} photos in ${args.out} (${Object.entries(summary.classes).map(([name, count]) => `${name} ${count}`).join(', ')}): ` +
      `${(summary.bytes / 1e6).toFixed(1)} MB, ${Math.round(summary.bytes / summary.files / 1000)} KB each, ` +
      `${summary.seconds.toFixed(1)} s, ${summary.imagesPerSecond.toFixed(0)} images/s on ${summary.threads} threads ` +
      `(${summary.cpuMillisecondsPerImage.toFixed(1)} ms of CPU each)`);
  } catch (error) {
    console.error(`generate-photos: ${(error as Error).message}`);
    process.exit(1);
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) await main();
