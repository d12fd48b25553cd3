// The embedding map of 20,000 images (issue 15: "the map of 20,000 points computes in <= 60 s"), on synthetic
// 20,000 x 1280 embeddings with cluster structure (40 clusters of 500, non-negative like average-pooled MobileNetV2
// features), so it runs without 20,000 real photos. Times each step of embeddingMap's standalone path on
// TensorFlow.js's matMul, as the job worker has it: 50 principal components, the PCA plane within them (the start),
// the nearest neighbours on them, and UMAP (umap-js, seeded: graph and epochs). The health job itself takes the neighbours from its
// own similarity scan instead of the 50 components (--job-path also times that scan). Prints the machine's load and how
// well the map keeps the clusters (share of each point's 10 nearest map neighbours in its own cluster, on a sample).
// Run: npm run bench -- health-map [--points N] [--job-path]   -> bench-results/health-map.json
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAP_NEIGHBOURS, embeddingMap, neighbourScan, normaliseRows, principalProjection,
} from '../electron/health/analysis';
import { umapLayout } from '../electron/health/embedding-map';
import { tfMatrixEngine } from '../electron/health/worker/tf-matrix';
import { tf } from '../electron/tfjs/tf';
import { selectBackend } from '../electron/tfjs/backend/select-backend';
import { mulberry32 } from '../shared/random';
import { printTable } from './_table';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const argValue = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const N = Number(argValue('--points') ?? 20_000);
const DIM = 1280;
const CLUSTERS = 40;
const SEED = 42;
const TARGET_SECONDS = 60;

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
}

/** Clustered non-negative embeddings: each cluster a sparse-ish positive centre plus noise, clipped at 0 (ReLU-like). */
function syntheticEmbeddings(n: number): { x: Float32Array; truth: Int32Array } {
  const rng = mulberry32(SEED);
  const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: DIM }, () => (rng() < 0.3 ? rng() * 2 : 0)));
  const x = new Float32Array(n * DIM);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % CLUSTERS;
    truth[i] = c;
    const centre = centres[c]!;
    for (let k = 0; k < DIM; k++) x[i * DIM + k] = Math.max(0, centre[k]! + gaussian(rng) * 0.35);
  }
  return { x, truth };
}

const seconds = (from: number) => (performance.now() - from) / 1000;
const loadBefore = os.loadavg();
const { x, truth } = syntheticEmbeddings(N);
const unit = normaliseRows(x, DIM);
const backend = await selectBackend('auto');
const engine = tfMatrixEngine(tf);
console.log(`health-map: ${N.toLocaleString('en-US')} x ${DIM} embeddings in ${CLUSTERS} clusters, ${backend.name}, ${os.cpus().length} cores, load ${loadBefore.map((v) => v.toFixed(1)).join(' ')}`);

const cpuStart = process.cpuUsage();
const started = performance.now();
let t = performance.now();
const projected = principalProjection(unit, DIM, 50, SEED, engine, 8);
const componentsSeconds = seconds(t);
t = performance.now();
const plane = principalProjection(projected, 50, 2, SEED, engine);
const planeSeconds = seconds(t);
const reduced = normaliseRows(projected, 50);
t = performance.now();
const neighbours = neighbourScan(reduced, 50, 1, Infinity, undefined, undefined, engine, { keep: MAP_NEIGHBOURS }).neighbours!;
const neighbourSeconds = seconds(t);
t = performance.now();
let firstEpochAt: number | null = null;
const layout = await umapLayout(neighbours, plane, {
  seed: SEED,
  report: ({ epoch }) => {
    if (firstEpochAt === null && epoch > 0) firstEpochAt = performance.now();
  },
});
const umapSeconds = seconds(t);
const totalSeconds = seconds(started);
const cpu = process.cpuUsage(cpuStart);
const loadAfter = os.loadavg();

// The same answer through embeddingMap (what analyseHealth calls), on a small slice: the steps above are its steps.
const check = await embeddingMap(unit.slice(0, 2000 * DIM), DIM, SEED, { engine });

// Cluster keeping on a sample of 500 points: of each one's 10 nearest points on the map, the share in its own cluster.
const sampleRng = mulberry32(7);
let same = 0, total = 0;
for (let s = 0; s < 500; s++) {
  const i = Math.floor(sampleRng() * N);
  const best: Array<{ j: number; d: number }> = [];
  for (let j = 0; j < N; j++) {
    if (j === i) continue;
    const d = (layout[j * 2]! - layout[i * 2]!) ** 2 + (layout[j * 2 + 1]! - layout[i * 2 + 1]!) ** 2;
    if (best.length < 10 || d < best[9]!.d) {
      best.push({ j, d });
      best.sort((a, b) => a.d - b.d);
      if (best.length > 10) best.pop();
    }
  }
  for (const { j } of best) {
    total++;
    if (truth[j] === truth[i]) same++;
  }
}
const ownCluster = same / total;

let jobScanSeconds: number | null = null;
if (process.argv.includes('--job-path')) {
  t = performance.now();
  neighbourScan(unit, DIM, 10, 0.87, undefined, undefined, engine, { keep: MAP_NEIGHBOURS });
  jobScanSeconds = seconds(t);
}

printTable(['step', 'seconds', 'target'], [
  ['50 principal components (8 rounds)', componentsSeconds.toFixed(1), ''],
  ['PCA plane within them (UMAP start)', planeSeconds.toFixed(1), ''],
  [`${MAP_NEIGHBOURS} nearest neighbours on them`, neighbourSeconds.toFixed(1), ''],
  ['UMAP graph + first epoch', firstEpochAt === null ? '-' : ((firstEpochAt - t) / 1000).toFixed(1), ''],
  ['UMAP (graph and all epochs)', umapSeconds.toFixed(1), ''],
  [`map of ${N.toLocaleString('en-US')} points`, totalSeconds.toFixed(1), `<= ${TARGET_SECONDS}`],
  ['  process CPU (user + system)', ((cpu.user + cpu.system) / 1e6).toFixed(1), ''],
  ['  load average before / after (1 min)', `${loadBefore[0]!.toFixed(1)} / ${loadAfter[0]!.toFixed(1)}`, ''],
  ['own-cluster share of 10 nearest on the map', ownCluster.toFixed(3), ''],
  ...(jobScanSeconds === null ? [] : [['the job\'s full-dimension scan (neighbours for free)', jobScanSeconds.toFixed(1), '']]),
]);
console.log(`embeddingMap on the first 2,000: ${check.method}, ${check.points.length} points`);

mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench-results', 'health-map.json'), JSON.stringify({
  points: N, dim: DIM, clusters: CLUSTERS, backend: backend.name, cores: os.cpus().length,
  seconds: { plane: planeSeconds, components: componentsSeconds, neighbours: neighbourSeconds, umap: umapSeconds, total: totalSeconds, jobScan: jobScanSeconds },
  cpuSeconds: (cpu.user + cpu.system) / 1e6, loadBefore, loadAfter, ownClusterShare: ownCluster, targetSeconds: TARGET_SECONDS,
}, null, 2));
