// Data health on real photos (issue 15): ../shared/data/cats-vs-dogs copied with seeded noise (bench/_health-noise.ts:
// 5% of labels flipped, 30 near-duplicates: 80% size, 4% crop per side, +10% brightness, JPEG q70), imported into a
// throwaway catalogue (split 70/20/10), then the health job through the real services and job worker, cold (empty
// feature cache) and warm (the same job again). Reports precision among the top-N label issues (N = flipped), recall
// of the planted pairs, times, and the issues it finds that were not planted (the photos' own problems).
// Run: npm run bench -- health   -> prints a table, writes bench-results/health.json
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../electron/services/index';
import { resolvePaths } from '../electron/paths';
import { bundledBasePath } from '../electron/health/base';
import type { HealthReport } from '../shared/contract/health';
import { printTable } from './_table';
import { injectNoise } from './_health-noise';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { FeatureCache, ORIGINAL_VIEW } from '../electron/training/mobilenet/feature-cache';
import { embeddingMap, normaliseRows } from '../electron/health/analysis';
import { tfMatrixEngine } from '../electron/health/worker/tf-matrix';
import { tf } from '../electron/tfjs/tf';
import { selectBackend } from '../electron/tfjs/backend/select-backend';
import { mulberry32 } from '../shared/random';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const PHOTOS = path.resolve(ROOT, '../shared/data/cats-vs-dogs');
const TM_MODEL = path.resolve(ROOT, '../shared/models/mobilenet-v2-0.35-224-teachable-machine');
const SEED = Number(process.env.HEALTH_BENCH_SEED ?? 15);
const TARGETS = { precision: 0.8, pairs: 27, coldSeconds: 60, warmSeconds: 10 };

const base = bundledBasePath() ?? (existsSync(path.join(TM_MODEL, 'model.json')) ? TM_MODEL : null);
if (!existsSync(PHOTOS) || base === null) {
  console.log(`health: skipped: ${!existsSync(PHOTOS) ? PHOTOS : 'the bundled base (resources/models) and ../shared/models'} not found`);
  process.exit(0);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'pawprint-health-bench-'));
try {
  const dataDir = path.join(work, 'pets');
  const noise = await injectNoise(PHOTOS, dataDir, { seed: SEED });
  const services = createServices({ paths: resolvePaths({ db: path.join(work, 'catalogue.db'), env: {} }), host: { kind: 'web' } });
  try {
    const imported = await services.app.jobs.start({ kind: 'import', input: { path: dataDir, name: 'pets' } });
    const importEnd = await services.app.jobs.wait(imported.job.id);
    if (importEnd.status !== 'completed' || importEnd.kind !== 'import' || !importEnd.result) throw new Error(`import ${importEnd.status}: ${importEnd.error}`);
    const datasetId = importEnd.result.datasetId;
    await services.request('splits.create', { datasetId, train: 0.7, val: 0.2, test: 0.1, seed: 1 });

    const runHealth = async (label: string) => {
      const started = performance.now();
      const { jobId } = await services.request('health.run', { datasetId, base, folds: 5, seed: 42 });
      const end = await services.app.jobs.wait(jobId);
      const seconds = (performance.now() - started) / 1000;
      if (end.status !== 'completed') throw new Error(`${label} health job ${end.status}: ${end.error}`);
      const { report } = await services.request('health.latest', { datasetId });
      return { seconds, report: report! };
    };
    const cold = await runHealth('cold');
    const warm = await runHealth('warm');
    const report: HealthReport = warm.report;

    const rel = (p: string) => path.relative(dataDir, p).split(path.sep).join('/');
    const flipped = new Set(noise.flipped.map((f) => f.path));
    const n = flipped.size;
    // Two ways: among confident learning's flagged issues (as the counts), and over the whole ranking (the list goes
    // on with unflagged suspects, so N entries exist even when fewer than N are flagged).
    const flaggedIssues = report.labelIssues.filter((issue) => issue.flagged);
    const top = flaggedIssues.slice(0, n);
    const hits = top.filter((issue) => flipped.has(rel(issue.image.path))).length;
    const ranked = report.labelIssues.slice(0, n);
    const rankedHits = ranked.filter((issue) => flipped.has(rel(issue.image.path))).length;
    const foundFlips = report.labelIssues.filter((issue) => flipped.has(rel(issue.image.path))).length;
    const groupOf = new Map<string, number>();
    report.nearDuplicates.forEach((group, g) => group.images.forEach((image) => groupOf.set(rel(image.path), g)));
    const pairsFound = noise.duplicates.filter((d) => groupOf.has(d.original) && groupOf.get(d.original) === groupOf.get(d.copy)).length;
    const plantedPaths = new Set(noise.duplicates.flatMap((d) => [d.original, d.copy]));
    const otherGroups = report.nearDuplicates.filter((group) => !group.images.some((image) => plantedPaths.has(rel(image.path))));
    const unplantedIssues = flaggedIssues.filter((issue) => !flipped.has(rel(issue.image.path)));

    printTable(['measure', 'value', 'target'], [
      ['images (after noise)', String(report.imageCount), ''],
      ['labels flipped (N)', String(n), ''],
      ['precision among top-N flagged issues', `${(hits / Math.max(1, top.length)).toFixed(3)} (${hits}/${top.length} flagged; ${(hits / n).toFixed(3)} of N)`, `>= ${TARGETS.precision}`],
      ['precision@N over the whole ranking', `${(rankedHits / n).toFixed(3)} (${rankedHits}/${n}; list of ${report.labelIssues.length})`, `>= ${TARGETS.precision}`],
      ['flips anywhere in the issue list', `${foundFlips}/${n} (list of ${report.labelIssues.length})`, ''],
      ['planted pairs grouped', `${pairsFound}/30`, `>= ${TARGETS.pairs}`],
      ['other near-duplicate groups', String(otherGroups.length), ''],
      ['groups across splits', String(report.counts.leakingGroups), ''],
      ['outliers', String(report.counts.outliers), ''],
      ['out-of-fold accuracy', report.outOfFoldAccuracy === null ? '-' : report.outOfFoldAccuracy.toFixed(3), ''],
      ['map points in the report', String(report.map?.length ?? 0), String(report.imageCount)],
      ['health job, cold (s)', cold.seconds.toFixed(1), `<= ${TARGETS.coldSeconds}`],
      ['  features / head / similarity (s)', `${cold.report.seconds.features.toFixed(1)} / ${cold.report.seconds.head.toFixed(1)} / ${cold.report.seconds.similarity.toFixed(1)}`, ''],
      ['health job, warm (s)', warm.seconds.toFixed(1), `<= ${TARGETS.warmSeconds}`],
      ['  features / head / similarity (s)', `${warm.report.seconds.features.toFixed(1)} / ${warm.report.seconds.head.toFixed(1)} / ${warm.report.seconds.similarity.toFixed(1)}`, ''],
    ]);
    console.log('\nNot planted: label issues', unplantedIssues.slice(0, 15).map((i) => `${rel(i.image.path)} ${i.given}->${i.suggested} ${i.score.toFixed(2)}`));
    console.log('Not planted: near-duplicate groups', otherGroups.slice(0, 10).map((g) => `${g.similarity.toFixed(3)} ${g.images.map((image) => rel(image.path)).join(' + ')}`));
    console.log('Outliers', report.outliers.slice(0, 15).map((o) => `${rel(o.image.path)} ${o.score.toFixed(3)}`));
    // Similarity of planted pairs that were missed, to calibrate the threshold.
    const missed = noise.duplicates.filter((d) => !(groupOf.has(d.original) && groupOf.get(d.original) === groupOf.get(d.copy)));
    if (missed.length) console.log('Missed pairs', missed.map((d) => d.copy));

    // Calibration: cosine similarity (average-pooled half, as the job uses) of the planted pairs against each image's
    // nearest other image, read back from the feature cache the job filled.
    const cache = await FeatureCache.open(path.join(services.app.paths.cache, 'features'), {
      weightsId: report.base.weightsId, imageSize: 224, featureDim: 2560, layout: 'max+avg',
    });
    const avgOf = async (rel: string) => {
      const hash = createHash('sha256').update(readFileSync(path.join(dataDir, rel))).digest('hex');
      const out = new Float32Array(2560);
      await cache.readInto([{ imageHash: hash, view: ORIGINAL_VIEW }], out);
      const v = out.subarray(1280);
      const norm = Math.hypot(...v);
      return Float32Array.from(v, (x) => x / norm);
    };
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    const pairSims: number[] = [];
    for (const d of noise.duplicates) pairSims.push(dot(await avgOf(d.original), await avgOf(d.copy)));
    // The map of 20,000 points: the job's map (UMAP from the PCA plane, neighbours on 50 components) on TensorFlow.js over
    // ten seeded jittered copies of these embeddings (bench/health-map.ts does it on 40 synthetic clusters, step by step).
    const files = readdirSync(dataDir).sort().flatMap((c) => readdirSync(path.join(dataDir, c)).sort().map((f) => `${c}/${f}`));
    const embedded: Float32Array[] = [];
    for (const f of files) embedded.push(await avgOf(f));
    const rows = new Float32Array(20_000 * 1280);
    const rng = mulberry32(SEED);
    for (let i = 0; i < 20_000; i++) {
      const v = embedded[i % embedded.length];
      for (let k = 0; k < 1280; k++) rows[i * 1280 + k] = v[k] + (rng() - 0.5) * 0.01;
    }
    await cache.close();
    await selectBackend('auto');
    const mapStarted = performance.now();
    const map20k = await embeddingMap(normaliseRows(rows, 1280), 1280, 42, { engine: tfMatrixEngine(tf) });
    const mapSeconds = (performance.now() - mapStarted) / 1000;
    console.log(`Map of ${map20k.points.length} points (${map20k.method}, ${tf.getBackend()}, load ${os.loadavg()[0]!.toFixed(1)}): ${mapSeconds.toFixed(1)} s (target <= 60 s)`);
    pairSims.sort((a, b) => a - b);
    console.log('Planted pair similarities (sorted):', pairSims.map((v) => v.toFixed(3)).join(' '));

    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench-results', 'health.json'), JSON.stringify({
      seed: SEED, base, images: report.imageCount, flipped: n, precisionTopN: hits / Math.max(1, top.length), hitsOfN: hits / n, listedInTopN: top.length, hits, foundFlips, labelIssues: report.labelIssues.length,
      flaggedIssues: flaggedIssues.length, rankedPrecisionAtN: rankedHits / n, rankedHits, mapPoints: report.map?.length ?? 0, map20kSeconds: mapSeconds,
      pairsFound, pairsPlanted: noise.duplicates.length, otherGroups: otherGroups.length, leakingGroups: report.counts.leakingGroups,
      outliers: report.counts.outliers, outOfFoldAccuracy: report.outOfFoldAccuracy, duplicateThreshold: report.duplicateThreshold,
      coldSeconds: cold.seconds, warmSeconds: warm.seconds, coldStages: cold.report.seconds, warmStages: warm.report.seconds,
      unplantedIssues: unplantedIssues.slice(0, 30).map((i) => ({ path: rel(i.image.path), label: i.given, suggested: i.suggested, score: i.score })),
      otherGroupsList: otherGroups.slice(0, 30).map((g) => ({ paths: g.images.map((image) => rel(image.path)), similarity: g.similarity })),
      outlierList: report.outliers.map((o) => ({ path: rel(o.image.path), score: o.score })),
      plantedPairSimilarities: pairSims,
      targets: TARGETS,
    }, null, 2));
  } finally {
    await services.close();
  }
} finally {
  // HEALTH_BENCH_KEEP=1 keeps the copy, catalogue and feature cache (to tune the analysis on the same embeddings).
  if (process.env.HEALTH_BENCH_KEEP === '1') console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
