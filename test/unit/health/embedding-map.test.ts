// Issue 15's embedding map as UMAP (seeded, on the neighbour scan's lists, started from the PCA plane): its fuzzy graph
// is umap-js's, the same seed gives the same map, planted clusters stay apart on it (each point's nearest points on
// the map are of its own cluster), the neighbour lists are the full Gram matrix's, tiny sets fall back to PCA, and a
// cancel lands between epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseHealth, DEFAULT_HEALTH_OPTIONS, embeddingMap, neighbourScan, normaliseRows, UMAP_MIN_POINTS, type MapPoint,
} from '../../../electron/health/analysis';
import { fuzzyGraph } from '../../../electron/health/embedding-map';
import { mulberry32 } from '../../../shared/random';
import { UMAP } from 'umap-js';

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
}

/** `clusters` Gaussian blobs of `per` points in `dim` dimensions (centres far apart relative to the spread), unit rows. */
function blobs(seed: number, clusters: number, per: number, dim: number, spread = 0.6) {
  const rng = mulberry32(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => gaussian(rng)));
  const x = new Float32Array(clusters * per * dim);
  const truth = new Int32Array(clusters * per);
  for (let c = 0; c < clusters; c++) {
    for (let i = 0; i < per; i++) {
      const row = c * per + i;
      truth[row] = c;
      for (let k = 0; k < dim; k++) x[row * dim + k] = centres[c][k] + gaussian(rng) * spread;
    }
  }
  return { unit: normaliseRows(x, dim), truth, dim };
}

/** Of every point's `k` nearest points on the map, the share in the point's own cluster. */
function ownClusterShare(points: MapPoint[], truth: Int32Array, k: number): number {
  let same = 0, total = 0;
  for (const p of points) {
    const nearest = points.filter((q) => q.index !== p.index)
      .map((q) => ({ index: q.index, d: (q.x - p.x) ** 2 + (q.y - p.y) ** 2 }))
      .sort((a, b) => a.d - b.d).slice(0, k);
    for (const q of nearest) {
      total++;
      if (truth[q.index] === truth[p.index]) same++;
    }
  }
  return same / total;
}

test('UMAP keeps planted clusters apart: a point\'s nearest points on the map are of its own cluster', async () => {
  const { unit, truth, dim } = blobs(4, 5, 60, 64);
  const map = await embeddingMap(unit, dim, 42);
  assert.equal(map.method, 'umap');
  assert.equal(map.points.length, truth.length);
  const share = ownClusterShare(map.points, truth, 10);
  assert.ok(share > 0.97, `own-cluster share among the 10 nearest on the map: ${share.toFixed(3)}`);
  // Clusters are compact: each cluster's spread on the map is well below the distance between cluster centres.
  const centre = (c: number) => {
    const members = map.points.filter((p) => truth[p.index] === c);
    return { x: members.reduce((s, p) => s + p.x, 0) / members.length, y: members.reduce((s, p) => s + p.y, 0) / members.length, members };
  };
  const centres = [0, 1, 2, 3, 4].map(centre);
  let closest = Infinity;
  for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) closest = Math.min(closest, Math.hypot(centres[a].x - centres[b].x, centres[a].y - centres[b].y));
  for (const { x, y, members } of centres) {
    const radius = Math.sqrt(members.reduce((s, p) => s + (p.x - x) ** 2 + (p.y - y) ** 2, 0) / members.length);
    assert.ok(radius < closest / 2, `cluster radius ${radius.toFixed(2)} against the closest centres ${closest.toFixed(2)} apart`);
  }
});

test('the same seed gives the same map; another seed another one', async () => {
  const { unit, dim } = blobs(8, 3, 40, 32);
  const one = await embeddingMap(unit, dim, 7);
  const two = await embeddingMap(unit, dim, 7);
  assert.deepEqual(one, two);
  const other = await embeddingMap(unit, dim, 8);
  assert.notDeepEqual(other.points, one.points);
});

test('the health analysis draws its map with UMAP from its own neighbour scan, the same for one seed; tiny sets get PCA', async () => {
  const { unit, truth, dim } = blobs(12, 3, 30, 24);
  const labels = Int32Array.from(truth);
  const input = { embeddings: unit, dim, labels, classNames: ['a', 'b', 'c'], subsets: Array.from(labels, () => 'train') };
  const one = await analyseHealth(input, { ...DEFAULT_HEALTH_OPTIONS, folds: 3 });
  assert.equal(one.mapMethod, 'umap');
  assert.ok(ownClusterShare(one.map, truth, 5) > 0.95);
  const two = await analyseHealth(input, { ...DEFAULT_HEALTH_OPTIONS, folds: 3 });
  assert.deepEqual(two.map, one.map);

  const few = UMAP_MIN_POINTS - 1;
  const tiny = await analyseHealth({ ...input, embeddings: unit.slice(0, few * dim), labels: labels.slice(0, few), subsets: input.subsets.slice(0, few) }, { ...DEFAULT_HEALTH_OPTIONS, folds: 2 });
  assert.equal(tiny.mapMethod, 'pca');
  assert.equal(tiny.map.length, few);
});

test('the neighbour scan\'s lists are each row\'s most similar others in the full Gram matrix', () => {
  const { unit, dim } = blobs(5, 4, 50, 16, 1.2);
  const n = unit.length / dim;
  const scan = neighbourScan(unit, dim, 3, 0.999, undefined, undefined, undefined, { keep: 14 });
  assert.ok(scan.neighbours);
  assert.equal(scan.neighbours.count, 14);
  const sim = (a: number, b: number) => { let s = 0; for (let k = 0; k < dim; k++) s += unit[a * dim + k] * unit[b * dim + k]; return s; };
  for (const i of [0, 17, 101, n - 1]) {
    const expected = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => sim(i, b) - sim(i, a)).slice(0, 14);
    const lists = scan.neighbours;
    const got: number[] = Array.from(lists.indices.subarray(i * 14, (i + 1) * 14));
    assert.deepEqual(got, expected, `row ${i}`);
    got.forEach((j, q) => assert.ok(Math.abs(lists.similarities[i * 14 + q]! - sim(i, j)) < 1e-6));
  }
});

test('the map reports its epochs and a cancel stops it between epochs', async () => {
  const { unit, dim } = blobs(6, 3, 40, 16);
  const seen: Array<{ done: number; total: number }> = [];
  const controller = new AbortController();
  await assert.rejects(
    embeddingMap(unit, dim, 1, {
      signal: controller.signal,
      report: (p) => {
        seen.push({ done: p.done, total: p.total });
        if (p.phase === 'mapping' && p.done >= 1) controller.abort();
      },
      // Yield after every epoch so the cancel is read at once.
      epochs: 400,
      sliceMs: 0,
    }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.ok(seen.length >= 1 && seen[0].total === 400, `progress ${JSON.stringify(seen.slice(0, 3))}`);
  assert.ok(seen.at(-1)!.done < 400, 'stopped before the last epoch');
});

test('the fuzzy graph is umap-js\'s for the same neighbour lists', () => {
  const { unit, dim } = blobs(3, 3, 30, 12, 1);
  const scan = neighbourScan(unit, dim, 1, Infinity, undefined, undefined, undefined, { keep: 14 });
  const lists = scan.neighbours!;
  const n = unit.length / dim;
  // umap-js with the same lists (the point itself first at distance 0, as it expects); its graph before pruning.
  const umap = new UMAP({ nNeighbors: 15, random: mulberry32(1) });
  const knnIndices = Array.from({ length: n }, (_, i) => [i, ...lists.indices.subarray(i * 14, (i + 1) * 14)]);
  const knnDistances = Array.from({ length: n }, (_, i) => [0, ...Array.from(lists.similarities.subarray(i * 14, (i + 1) * 14), (s) => Math.sqrt(Math.max(0, 2 - 2 * s)))]);
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  umap.initializeFit(Array.from({ length: n }, () => [0]));
  const theirs = (umap as unknown as { graph: { getAll(): Array<{ row: number; col: number; value: number }> } }).graph.getAll().filter((entry) => entry.value > 0);
  const ours = fuzzyGraph(lists, Infinity);
  assert.equal(ours.head.length, theirs.length);
  theirs.forEach((entry, e) => {
    assert.deepEqual([ours.head[e], ours.tail[e]], [entry.row, entry.col], `edge ${e}`);
    assert.ok(Math.abs(ours.weight[e]! - entry.value) < 1e-9, `edge ${e}: ${ours.weight[e]} vs ${entry.value}`);
  });
});
