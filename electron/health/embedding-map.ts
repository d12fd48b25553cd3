// The embedding map's layout (issue 15): UMAP (McInnes et al.; the algorithm of umap-learn and umap-js) on neighbour
// lists we compute ourselves, seeded with our PRNG and started from the PCA plane (umap-learn's init='pca': the same
// picture every time, the clusters' global arrangement of the PCA view kept), stepped one epoch at a time so progress
// is reported and a cancel lands between epochs. Written here on typed arrays because umap-js, measured on this
// machine, took 28 s for 2,000 points (3.4 s of it building the graph in string-keyed Maps, the rest in epochs over
// number[][]), more than the whole warm health job may take; test/unit/health/embedding-map.test.ts checks this graph
// against umap-js's. Plain JavaScript, no TensorFlow.js.
import { mixSeeds, mulberry32 } from '../../shared/random';

/** Every image's nearest others: `count` per row, row-major, most similar first; cosine similarities. */
export interface NeighbourLists {
  count: number;
  indices: Int32Array;
  similarities: Float32Array;
}

/** UMAP's fuzzy graph as a list of directed edges (each pair both ways, as the symmetric matrix has it), row-major. */
export interface FuzzyGraph { head: Int32Array; tail: Int32Array; weight: Float64Array }

export interface UmapProgress { epoch: number; epochs: number }

export interface UmapOptions {
  seed: number;
  /** Epochs of optimisation (default UMAP_EPOCHS). */
  epochs?: number;
  /** Called every few epochs and at the end. */
  report?: (progress: UmapProgress) => void;
  signal?: AbortSignal;
  /** Milliseconds of work between yields to the event loop (where a cancel message is read). */
  sliceMs?: number;
}

/** UMAP's curve 1 / (1 + a d^2b) for spread 1 and min_dist 0.1 (umap-learn's find_ab_params; umap-js's defaults). */
const CURVE_A = 1.5769434603113077;
const CURVE_B = 0.8950608779109733;
const NEGATIVE_SAMPLE_RATE = 5;
const REPULSION = 1;
const CLIP = 4;
/** UMAP's spread of the initial layout: umap-learn scales its init to at most 10 in either coordinate. */
const INIT_EXTENT = 10;
const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/**
 * Epochs of optimisation: 200, umap-learn's choice for large sets, for every size (umap-learn and umap-js take 500 up
 * to 2,500 points): started from the PCA plane the layout has settled by then, and 500 epochs of 2,000 points took
 * 2.6 s of CPU here, a quarter of the warm health job's budget.
 */
export const UMAP_EPOCHS = 200;

/** Unit vectors' distance from their cosine similarity: sqrt(2 - 2 cos). */
const distanceOf = (similarity: number) => Math.sqrt(Math.max(0, 2 - 2 * similarity));

/**
 * The fuzzy simplicial set of the neighbour lists (umap-learn's fuzzy_simplicial_set with local connectivity 1 and
 * a pure fuzzy union): per row, rho = the nearest non-zero distance and sigma by bisection so the memberships
 * exp(-(d - rho) / sigma) sum to log2(k) (k = the neighbours plus the point itself); then w = a + b - a b over both
 * directions. Edges below max / epochs are dropped, as UMAP does before optimising.
 */
export function fuzzyGraph(neighbours: NeighbourLists, epochs: number): FuzzyGraph {
  const m = neighbours.count;
  const n = neighbours.indices.length / m;
  const distances = Float64Array.from(neighbours.similarities, distanceOf);
  const target = Math.log2(m + 1);
  let meanAll = 0;
  for (let q = 0; q < distances.length; q++) meanAll += distances[q];
  // umap-learn's rows hold the point itself at distance 0: it counts in the means.
  meanAll /= n * (m + 1);
  const membership = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    let rho = 0, mean = 0;
    for (let q = 0; q < m; q++) {
      const d = distances[row + q];
      mean += d;
      if (rho === 0 && d > 0) rho = d;
    }
    mean /= m + 1;
    let lo = 0, hi = Infinity, mid = 1;
    for (let iteration = 0; iteration < 64; iteration++) {
      let sum = 0;
      for (let q = 0; q < m; q++) {
        const d = distances[row + q] - rho;
        sum += d > 0 ? Math.exp(-d / mid) : 1;
      }
      if (Math.abs(sum - target) < SMOOTH_K_TOLERANCE) break;
      if (sum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    const sigma = Math.max(mid, MIN_K_DIST_SCALE * (rho > 0 ? mean : meanAll));
    for (let q = 0; q < m; q++) {
      const d = distances[row + q] - rho;
      membership[row + q] = neighbours.indices[row + q] === i ? 0 : d <= 0 ? 1 : Math.exp(-d / sigma);
    }
  }
  // The membership of j in i's list, or 0.
  const strength = (i: number, j: number) => {
    for (let q = 0; q < m; q++) if (neighbours.indices[i * m + q] === j) return membership[i * m + q];
    return 0;
  };
  // Per row, its symmetric entries (j ascending, as a sparse matrix stores them).
  const rows: Array<Array<[number, number]>> = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < m; q++) {
      const j = neighbours.indices[i * m + q];
      if (j === i) continue;
      const back = strength(j, i);
      // A pair in both lists is taken once, from the lower row.
      if (back > 0 && j < i) continue;
      const a = membership[i * m + q];
      const w = a + back - a * back;
      if (w <= 0) continue;
      rows[i].push([j, w]);
      rows[j].push([i, w]);
    }
  }
  let max = 0;
  for (const row of rows) for (const [, w] of row) max = Math.max(max, w);
  const floor = max / epochs;
  let count = 0;
  for (const row of rows) {
    row.sort((x, y) => x[0] - y[0]);
    for (const [, w] of row) if (w >= floor) count++;
  }
  const head = new Int32Array(count), tail = new Int32Array(count), weight = new Float64Array(count);
  let e = 0;
  rows.forEach((row, i) => {
    for (const [j, w] of row) {
      if (w < floor) continue;
      head[e] = i;
      tail[e] = j;
      weight[e++] = w;
    }
  });
  return { head, tail, weight };
}

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * x^CURVE_B for x > 0 by tables instead of Math.pow (the optimiser's inner loops make tens of millions of these; pow
 * took 140 ns each on the loaded 2-core machine): x = m 2^e, so x^b = (2^b)^e m^b, with 2^(b e) looked up by the
 * exponent bits and m^b interpolated between 1,025 points of [1, 2] by the next mantissa bits (relative error about
 * 1e-8). Exact arithmetic on the same bits: the same answer on every machine.
 */
const POW_STEPS = 1024;
const MANTISSA_POW = Float64Array.from({ length: POW_STEPS + 1 }, (_, i) => Math.pow(1 + i / POW_STEPS, CURVE_B));
const EXPONENT_POW = Float64Array.from({ length: 2048 }, (_, e) => Math.pow(2, CURVE_B * (e - 1023)));
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the high 32-bit word of a float64 in `words` (1 on little-endian machines). */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

export function powCurveB(x: number): number {
  bits[0] = x;
  const high = words[HIGH];
  const exponent = (high >>> 20) & 0x7ff;
  if (exponent === 0 || exponent === 0x7ff) return Math.pow(x, CURVE_B); // subnormal, infinite or NaN
  const step = (high >>> 10) & 0x3ff;
  const fraction = (high & 0x3ff) / 1024;
  const low = MANTISSA_POW[step];
  return EXPONENT_POW[exponent] * (low + (MANTISSA_POW[step + 1] - low) * fraction);
}

interface LayoutState {
  /** n x 2 coordinates, row-major. */
  y: Float64Array;
  n: number;
  head: Int32Array;
  tail: Int32Array;
  epochsPerSample: Float64Array;
  epochsPerNegative: Float64Array;
  nextSample: Float64Array;
  nextNegative: Float64Array;
  random: () => number;
}

const clip = (v: number) => (v > CLIP ? CLIP : v < -CLIP ? -CLIP : v);

/** One epoch of umap-learn's optimize_layout_euclidean at learning rate alpha (a plain function: fully optimised). */
function optimiseEpoch(state: LayoutState, epoch: number, alpha: number): void {
  const { y, n, head, tail, epochsPerSample, epochsPerNegative, nextSample, nextNegative, random } = state;
  const a = CURVE_A, b = CURVE_B;
  const edges = head.length;
  for (let e = 0; e < edges; e++) {
    if (nextSample[e] > epoch) continue;
    const j = head[e] * 2, k = tail[e] * 2;
    let dx = y[j] - y[k], dy = y[j + 1] - y[k + 1];
    let d2 = dx * dx + dy * dy;
    if (d2 > 0) {
      const powered = powCurveB(d2);
      // -2ab d^(2(b-1)) / (1 + a d^2b), with d2 = d^2.
      const coefficient = (-2 * a * b * powered) / (d2 * (a * powered + 1));
      const gx = clip(coefficient * dx) * alpha, gy = clip(coefficient * dy) * alpha;
      y[j] += gx;
      y[j + 1] += gy;
      y[k] -= gx;
      y[k + 1] -= gy;
    }
    nextSample[e] += epochsPerSample[e];
    const negatives = Math.floor((epoch - nextNegative[e]) / epochsPerNegative[e]);
    for (let p = 0; p < negatives; p++) {
      const other = Math.floor(random() * n) * 2;
      if (other === j) continue;
      dx = y[j] - y[other];
      dy = y[j + 1] - y[other + 1];
      d2 = dx * dx + dy * dy;
      if (d2 <= 0) continue;
      const coefficient = (2 * REPULSION * b) / ((0.001 + d2) * (a * powCurveB(d2) + 1));
      y[j] += clip(coefficient * dx) * alpha;
      y[j + 1] += clip(coefficient * dy) * alpha;
    }
    nextNegative[e] += negatives * epochsPerNegative[e];
  }
}

/**
 * A 2-D UMAP layout of n points from their neighbour lists and an initial layout (n x 2, row-major): umap-learn's
 * optimize_layout_euclidean (each edge sampled in proportion to its weight, NEGATIVE_SAMPLE_RATE random repulsions per
 * sample, learning rate falling linearly to 0), with our seeded PRNG. Returns n x 2 coordinates.
 */
export async function umapLayout(neighbours: NeighbourLists, init: Float32Array, options: UmapOptions): Promise<Float32Array> {
  const m = neighbours.count;
  const n = neighbours.indices.length / m;
  if (init.length !== n * 2) throw new Error(`umapLayout: ${n} points need ${n * 2} initial coordinates, got ${init.length}`);
  if (n <= m) throw new Error(`umapLayout: ${n} points cannot each have ${m} neighbours`);
  const epochs = options.epochs ?? UMAP_EPOCHS;
  const { head, tail, weight } = fuzzyGraph(neighbours, epochs);
  const edges = head.length;
  let max = 0;
  for (let e = 0; e < edges; e++) max = Math.max(max, weight[e]);
  const epochsPerSample = Float64Array.from(weight, (w) => max / w);
  const epochsPerNegative = Float64Array.from(epochsPerSample, (v) => v / NEGATIVE_SAMPLE_RATE);
  const nextSample = Float64Array.from(epochsPerSample);
  const nextNegative = Float64Array.from(epochsPerNegative);

  // The scaled initial layout, with a seeded jitter of 1e-4 so that coincident points (exact copies) can move apart.
  let extent = 0;
  for (let k = 0; k < init.length; k++) extent = Math.max(extent, Math.abs(init[k]));
  const scale = extent > 0 ? INIT_EXTENT / extent : 1;
  const jitter = mulberry32(mixSeeds(options.seed, 'health-umap-init'));
  const y = Float64Array.from(init, (v) => v * scale + (jitter() - 0.5) * 2e-4);
  const state: LayoutState = {
    y, n, head, tail, epochsPerSample, epochsPerNegative, nextSample, nextNegative, random: mulberry32(mixSeeds(options.seed, 'health-umap')),
  };
  const sliceMs = options.sliceMs ?? 50;
  let sliceStart = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    optimiseEpoch(state, epoch, 1 - epoch / epochs);
    if (performance.now() - sliceStart >= sliceMs) {
      options.report?.({ epoch: epoch + 1, epochs });
      await yieldToEvents();
      options.signal?.throwIfAborted();
      sliceStart = performance.now();
    }
  }
  options.report?.({ epoch: epochs, epochs });
  return Float32Array.from(y);
}
