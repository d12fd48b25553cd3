// Import speed at scale (issue 17), next to what sharp alone can decode on this machine, measured in the same run:
//   1. warm the OS file cache (read every file once) so neither measurement pays for the disk;
//   2. raw decode: sharp(file).raw().toBuffer() for every file, one at a time and with the importer's parallelism,
//      and the raw decode rate that bounds an import: sharp alone decoding each file and making its thumbnail (shrink
//      on load, JPEG out) at the importer's concurrency; the import's rate is reported as a ratio to it;
//   3. first import into a fresh catalogue through the job runtime (read + SHA-256 + header + one decode that both
//      validates and makes the thumbnail + SQLite in batched transactions), with its CPU time and peak RSS;
//   4. unchanged re-scan of the same folder (walk + size/mtime compare, nothing read), with its peak RSS.
//
//   npx tsx bench/import.ts                      # generated photos, N = 5,000 (bench/generate-photos.ts, cached)
//   npx tsx bench/import.ts --n 5000,20000       # several sizes, each its own folder and catalogue
//   npx tsx bench/import.ts --folder ../shared/data/cats-vs-dogs
//   npx tsx bench/import.ts --n 20000 --decode-sample 2000   # the raw decode rate from 2,000 of the files
//
//   5. thumbnails the import left to first display (none since the import makes them), counted into the import rate.
//
// The machine is shared: every size records the load average it ran under, and CPU ms per image (all threads of this
// process) beside the wall-clock rates, since the ratio to raw decode and the CPU cost move less with the load.
// Writes bench-results/import.json. Measured figures only: nothing is extrapolated to sizes not run.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createServices } from '../electron/services/index';
import { importConcurrency } from '../electron/dataset/importer';
import { thumbnailPath } from '../electron/dataset/thumbnails';
import { THUMB_SIZE } from '../electron/dataset/validate';
import { importFolder } from './_jobs';
import { PeakSampler } from './_process-tree';
import { GENERATOR_VERSION, generatePhotos } from './generate-photos';
import type { ImportSummary } from '../shared/contract/datasets';
import { tempDir, tempPaths } from '../test/support/temp';

const repoRoot = path.resolve(import.meta.dirname, '..');
const TARGET_IMAGES_PER_SECOND = 150;
const TARGET_RESCAN_SECONDS_AT_100K = 20;
const TARGET_PEAK_MB = 1024;

interface Args {
  sizes: number[];
  folder: string | null;
  seed: number;
  /** Raw decode measured on every file (0) or on this many spread evenly over the folder: the rate, in less time. */
  decodeSample: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { sizes: [5000], folder: null, seed: 1, decodeSample: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--n') {
      args.sizes = value.split(',').map((text) => {
        const n = Number(text);
        if (!Number.isInteger(n) || n < 1) throw new Error(`--n takes whole numbers separated by commas (got "${text}")`);
        return n;
      });
    } else if (flag === '--folder') args.folder = path.resolve(value);
    else if (flag === '--seed') args.seed = Number(value);
    else if (flag === '--decode-sample') args.decodeSample = Math.max(0, Math.floor(Number(value)) || 0);
    else throw new Error(`unknown option ${flag} (use --n 5000,20000 or --folder DIR, --seed S, --decode-sample K)`);
  }
  return args;
}

/** The same cache folder as bench/scale.ts, so both benches generate a size once. */
async function generatedFolder(n: number, seed: number): Promise<string> {
  const root = process.env.PAWPRINT_SCALE_CACHE ?? path.join(tmpdir(), 'pawprint-scale');
  const folder = path.join(root, `photos-n${n}-seed${seed}-v${GENERATOR_VERSION}`);
  const marker = `${folder}.json`;
  if (existsSync(marker) && existsSync(folder)) return folder;
  rmSync(folder, { recursive: true, force: true });
  console.log(`generating ${n} photos into ${folder}`);
  const generated = await generatePhotos({ n, seed, out: folder });
  writeFileSync(marker, JSON.stringify({ n, seed, generatorVersion: GENERATOR_VERSION, ...generated }, null, 2));
  return folder;
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile() && !entry.name.startsWith('.')) out.push(full);
  }
  return out.sort();
}

/** Full-size decodes (`raw`), or what an import's decode does: the thumbnail, shrunk on load, as a JPEG (`thumbnail`). */
async function decodeAll(files: string[], concurrency: number, kind: 'raw' | 'thumbnail' = 'raw'): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) {
        const file = files[next++]!;
        if (kind === 'raw') await sharp(file).raw().toBuffer();
        else await sharp(file).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

interface Measured {
  seconds: number;
  cpuMsPerImage: number;
  peakMb: number;
  summary: ImportSummary;
}

async function measuredImport(services: ReturnType<typeof createServices>, folder: string, files: number): Promise<Measured> {
  const sampler = new PeakSampler(process.pid, 100);
  sampler.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const summary = await importFolder(services, { path: folder });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const peaks = sampler.stop();
  return { seconds, cpuMsPerImage: (used.user + used.system) / 1000 / files, peakMb: peaks.mainMb, summary };
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

async function measureSize(folder: string, label: string, decodeSample: number): Promise<Record<string, unknown>> {
  const files = listFiles(folder);
  let bytes = 0;
  for (const file of files) bytes += readFileSync(file).length;
  const loadBefore = loadavg()[0]!;
  const concurrency = importConcurrency();
  const step = decodeSample > 0 && decodeSample < files.length ? files.length / decodeSample : 1;
  const decoded = step === 1 ? files : Array.from({ length: decodeSample }, (_, i) => files[Math.floor(i * step)]!);
  const decodeSerial = (await decodeAll(decoded, 1)) * (files.length / decoded.length);
  const decodeParallel = (await decodeAll(decoded, concurrency)) * (files.length / decoded.length);
  // The bound on an import: sharp alone decoding and thumbnailing the same files at the importer's concurrency.
  const thumbnailParallel = (await decodeAll(decoded, concurrency, 'thumbnail')) * (files.length / decoded.length);
  const loadDuringDecode = loadavg()[0]!;
  const rate = (seconds: number) => files.length / seconds;
  const bestRaw = Math.max(rate(decodeSerial), rate(decodeParallel));
  const rawThumbnailRate = rate(thumbnailParallel);

  const dir = tempDir('pawprint-bench-import-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  try {
    const first = await measuredImport(services, folder, files.length);
    const loadDuringImport = loadavg()[0]!;
    const rescan = await measuredImport(services, folder, files.length);
    if (first.summary.imported !== files.length) throw new Error(`first import took ${first.summary.imported} of ${files.length} files`);
    if (rescan.summary.unchanged !== files.length) throw new Error(`re-scan saw ${rescan.summary.unchanged} unchanged of ${files.length}`);
    const rows = services.app.db.prepare(`SELECT id, content_hash AS hash FROM images WHERE status = 'ok' ORDER BY id`).all() as Array<{ id: number; hash: string }>;
    const missing = rows.filter((row) => !existsSync(thumbnailPath(services.app.paths.thumbnails, row.hash)));
    const withoutThumbnail = missing.length;
    // Whatever the import left to first display is made here as the grid would (3 at a time), and counted in.
    let nextThumb = 0;
    const thumbsStarted = performance.now();
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        while (nextThumb < missing.length) {
          if (!(await services.app.media.resolve('thumb', String(missing[nextThumb++]!.id)))) throw new Error('a thumbnail could not be made');
        }
      }),
    );
    const thumbnailSeconds = (performance.now() - thumbsStarted) / 1000;
    const importRate = rate(first.seconds + thumbnailSeconds);
    const result = {
      label,
      files: files.length,
      megabytes: round(bytes / 1e6),
      loadAverageBefore: round(loadBefore, 2),
      loadAverageAfter: round(loadavg()[0]!, 2),
      importerConcurrency: concurrency,
      rawDecodeFiles: decoded.length,
      rawDecodeSerialImagesPerSecond: round(rate(decodeSerial)),
      rawDecodeParallelImagesPerSecond: round(rate(decodeParallel)),
      /** sharp alone: decode + thumbnail of the same files at the importer's concurrency (what bounds an import). */
      rawDecodeThumbnailImagesPerSecond: round(rawThumbnailRate),
      loadAverageDuringDecode: round(loadDuringDecode, 2),
      firstImportSeconds: round(first.seconds, 2),
      thumbnailsMissingAfterImport: withoutThumbnail,
      thumbnailsAfterImportSeconds: round(thumbnailSeconds, 2),
      /** First import plus any thumbnails it left to first display: the time until the grid has every thumbnail. */
      firstImportImagesPerSecond: round(importRate),
      firstImportVsBestRawDecode: round(importRate / bestRaw, 3),
      /** Import rate / raw decode + thumbnail rate, measured in the same run: 1 would be sharp's speed alone. */
      firstImportVsRawDecodeThumbnail: round(importRate / rawThumbnailRate, 3),
      loadAverageDuringImport: round(loadDuringImport, 2),
      firstImportCpuMsPerImage: round(first.cpuMsPerImage, 2),
      firstImportPeakRssMb: first.peakMb,
      rescanSeconds: round(rescan.seconds, 2),
      rescanMicrosecondsPerFile: round((rescan.seconds * 1e6) / files.length, 0),
      rescanPeakRssMb: rescan.peakMb,
      targets: {
        importAtLeast150PerSecond: importRate >= TARGET_IMAGES_PER_SECOND,
        peakRssAtMost1GB: Math.max(first.peakMb, rescan.peakMb) <= TARGET_PEAK_MB,
        rescanWithin20s: files.length >= 100_000 ? rescan.seconds <= TARGET_RESCAN_SECONDS_AT_100K : 'measured only at 100,000',
      },
    };
    console.log(`\n${label}: ${files.length} files, ${result.megabytes} MB, load average ${result.loadAverageBefore} → ${result.loadAverageAfter}`);
    console.table([
      { step: 'raw sharp decode, 1 at a time', seconds: round(decodeSerial, 2), 'images/s': result.rawDecodeSerialImagesPerSecond },
      { step: `raw sharp decode, ${concurrency} at a time`, seconds: round(decodeParallel, 2), 'images/s': result.rawDecodeParallelImagesPerSecond },
      { step: `raw decode rate: sharp decode + thumbnail, ${concurrency} at a time`, seconds: round(thumbnailParallel, 2), 'images/s': result.rawDecodeThumbnailImagesPerSecond, load: result.loadAverageDuringDecode },
      { step: 'first import', seconds: result.firstImportSeconds, 'images/s': round(rate(first.seconds)), 'peak RSS MB': first.peakMb, 'CPU ms/image': result.firstImportCpuMsPerImage, load: result.loadAverageDuringImport },
      { step: `thumbnails left to first display (${withoutThumbnail})`, seconds: result.thumbnailsAfterImportSeconds },
      { step: 'import with thumbnails', seconds: round(first.seconds + thumbnailSeconds, 2), 'images/s': result.firstImportImagesPerSecond },
      { step: 'unchanged re-scan', seconds: result.rescanSeconds, 'images/s': round(rate(rescan.seconds)), 'peak RSS MB': rescan.peakMb },
    ]);
    console.log(`import with thumbnails = ${(result.firstImportVsRawDecodeThumbnail * 100).toFixed(0)}% of the raw decode rate (sharp decode + thumbnail alone), ${(result.firstImportVsBestRawDecode * 100).toFixed(0)}% of the best full-size decode rate; ${withoutThumbnail} decodable images without a thumbnail`);
    return result;
  } finally {
    await services.close();
    dir.cleanup();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const resultsDir = path.join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const runs: Array<Record<string, unknown>> = [];
  const folders = args.folder ? [{ folder: args.folder, label: path.basename(args.folder) }] : args.sizes.map((n) => ({ folder: '', label: `generated n=${n}`, n }));
  for (const entry of folders) {
    const folder = 'n' in entry ? await generatedFolder(entry.n!, args.seed) : entry.folder;
    runs.push(await measureSize(folder, entry.label, args.decodeSample));
  }
  const result = {
    bench: 'import', date: new Date().toISOString(), cpus: cpus().length, sharpConcurrency: sharp.concurrency(), runs,
    note: 'Measured on a shared machine: compare the ratio to raw decode and CPU ms per image across runs, the wall-clock rates only at a similar load average.',
  };
  writeFileSync(path.join(resultsDir, 'import.json'), JSON.stringify(result, null, 2) + '\n');
}

try {
  await main();
} catch (error) {
  console.error(`bench/import.ts: ${(error as Error).message}`);
  process.exitCode = 1;
}
