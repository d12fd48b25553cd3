// Data health from image embeddings: label issues by confident learning on out-of-fold probabilities of a softmax
// head, near-duplicate groups by cosine similarity, outliers by k-nearest-neighbour distance, class balance, and a 2-D
// map (UMAP on the neighbour scan's lists, PCA for tiny sets). The big matrix products go through a MatrixEngine: plain
// loops here (no TensorFlow.js, so the host and tests can run it), TensorFlow.js matMul in the job worker
// (worker/tf-matrix.ts). Everything is seeded and deterministic, so one dataset gives one answer.
import { mixSeeds, mulberry32, shuffleInPlace } from '../../shared/random';
import { umapLayout, type NeighbourLists } from './embedding-map';

export interface HealthOptions {
  /** Folds of out-of-fold prediction (2..20). */
  folds: number;
  seed: number;
  /** Cosine similarity at or above which two images are near-duplicates. */
  duplicateThreshold: number;
  /** Neighbours whose mean distance is an image's outlier score. */
  neighbours: number;
  /** Gradient steps of the softmax head per fold. */
  steps: number;
  /** L2 penalty of the head's weights. */
  l2: number;
  /** Adam's step size (default 0.05). */
  learningRate?: number;
}

/**
 * Measured on the bench's noisy cats-vs-dogs copy (bench/health.ts; alpha 0.35 base, average-pooled features): 40 Adam
 * steps with L2 1 gave precision 0.76 among the top 100 (0.90 of the 84 flagged) against 0.59 for 120 steps with L2
 * 0.001 (overconfident, many ties at score 1); max+avg features did worse (0.55). Planted copies (80%, 4% crop, +10%
 * brightness, JPEG q70) had similarity 0.883-0.961; at 0.87 all 30 pair up and two other pairs do (0.890 cat.644 /
 * cat.646 and 0.986 dog.180 / dog.74, look-alike shots); at 0.80 28 unrelated pairs join in.
 */
export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  folds: 5, seed: 42, duplicateThreshold: 0.87, neighbours: 10, steps: 40, l2: 1,
};

export interface HealthInput {
  /**
   * The map of an earlier analysis of the same embeddings (same images, base and seed), in this input's image order:
   * reused as it is, since the map depends on the embeddings alone and not on the labels.
   */
  map?: EmbeddingMap | null;
  /** n x dim embeddings, row-major. */
  embeddings: Float32Array;
  /**
   * The analysis may scale `embeddings` to unit rows in place instead of copying them: for a caller that reads them no
   * more (the worker: 512 MB less at 100,000 images).
   */
  embeddingsReusable?: boolean;
  dim: number;
  /** Class index per image, -1 = unlabelled (used for duplicates and outliers only). */
  labels: Int32Array;
  classNames: string[];
  /** Split subset per image ('train' | 'val' | 'test'), null when the image is in no split. */
  subsets: Array<string | null>;
}

/**
 * A label-issue candidate. `flagged`: confident learning says the label is wrong (a class other than the label reaches
 * its per-class threshold). Candidates also include unflagged images the out-of-fold head predicts as another class,
 * so a top-N list is not cut short at the flagged count; all are ranked by score.
 */
export interface LabelIssue { index: number; label: number; suggested: number; score: number; selfConfidence: number; flagged: boolean }
export interface DuplicateGroup { indices: number[]; similarity: number; crossesSplits: boolean }
export interface Outlier { index: number; score: number }
export interface ClassHealth {
  name: string;
  count: number;
  share: number;
  /** Mean out-of-fold probability of the given label over this class's images. */
  meanSelfConfidence: number;
  /** Per-class threshold of confident learning (that same mean). */
  threshold: number;
  /** Out-of-fold accuracy of the head on this class. */
  outOfFoldAccuracy: number;
  labelIssues: number;
}
/** An image's place on the 2-D embedding map. */
export interface MapPoint { index: number; x: number; y: number }
/**
 * A label suggested for an unlabelled image by its nearest labelled neighbours in embedding space: `confidence` is the
 * suggested class's share of the similarity-weighted vote, `margin` its lead over the runner-up (0 = a tie, the least
 * certain; what active learning asks a person about first).
 */
export interface Suggestion { index: number; suggested: number; confidence: number; margin: number }
export interface HealthAnalysis {
  /** Candidates, most likely wrong first; `flagged` marks confident learning's issues. */
  labelIssues: LabelIssue[];
  /** Each image's place on the 2-D embedding map (UMAP; the first two principal components below UMAP_MIN_POINTS images). */
  map: MapPoint[];
  mapMethod: 'umap' | 'pca';
  /** One per unlabelled image (when two classes have labels), least certain (smallest margin) first. */
  suggestions: Suggestion[];
  nearDuplicates: DuplicateGroup[];
  outliers: Outlier[];
  classes: ClassHealth[];
  /** max / min labelled count over classes with images. */
  imbalanceRatio: number | null;
  outOfFoldAccuracy: number | null;
  outlierThreshold: number;
  timings: { headSeconds: number; similaritySeconds: number; mapSeconds: number };
}

/**
 * A row-major rows x cols matrix held for repeated products (uploaded once to whatever does the arithmetic). The
 * holder may read the caller's values again until dispose, so they stay unchanged until then.
 */
export interface HeldMatrix {
  /** A · Bᵀ for B (bRows x cols, row-major): rows x bRows. */
  timesTransposed(b: Float32Array, bRows: number): Float32Array;
  /** Pᵀ · A for P (rows x k, row-major): k x cols. */
  transposedTimes(p: Float32Array, k: number): Float32Array;
  /** A[r0..r1) · A[c0..rows)ᵀ: (r1 - r0) x (rows - c0), one block of the Gram matrix. */
  selfProduct(r0: number, r1: number, c0: number): Float32Array;
  dispose(): void;
}
export interface MatrixEngine { name: string; hold(values: Float32Array, rows: number, cols: number): HeldMatrix }

/** Plain loops (float64 sums): for the host and tests; the worker uses TensorFlow.js's matMul instead. */
export const loopEngine: MatrixEngine = {
  name: 'loops',
  hold(a, rows, cols) {
    const dot = (ra: number, b: Float32Array, rb: number) => {
      let s = 0;
      for (let k = 0; k < cols; k++) s += a[ra + k] * b[rb + k];
      return s;
    };
    return {
      timesTransposed(b, bRows) {
        const out = new Float32Array(rows * bRows);
        for (let i = 0; i < rows; i++) for (let j = 0; j < bRows; j++) out[i * bRows + j] = dot(i * cols, b, j * cols);
        return out;
      },
      transposedTimes(p, k) {
        const out = new Float64Array(k * cols);
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < k; j++) {
            const d = p[i * k + j];
            if (d === 0) continue;
            const row = i * cols, oj = j * cols;
            for (let q = 0; q < cols; q++) out[oj + q] += d * a[row + q];
          }
        }
        return Float32Array.from(out);
      },
      selfProduct(r0, r1, c0) {
        const width = rows - c0;
        const out = new Float32Array((r1 - r0) * width);
        for (let i = r0; i < r1; i++) for (let j = c0; j < rows; j++) out[(i - r0) * width + (j - c0)] = dot(i * cols, a, j * cols);
        return out;
      },
      dispose() {},
    };
  },
};

export interface AnalysisProgress { phase: 'fitting' | 'comparing' | 'mapping'; done: number; total: number }

type Report = (p: AnalysisProgress) => void;

/** Rows scaled to unit length (cosine similarity = dot product), into `out` (which may be `x`). */
export function normaliseRows(x: Float32Array, dim: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const n = x.length / dim;
  if (out.length !== x.length) throw new Error(`normaliseRows: out holds ${out.length} values, not ${x.length}`);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < dim; k++) out[i * dim + k] = x[i * dim + k] * inv;
  }
  return out;
}

/** Stratified fold number per labelled example (shuffled within each class by the seed); -1 for unlabelled. */
export function stratifiedFolds(labels: Int32Array, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(labels.length).fill(-1);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    if (label >= 0) (byClass.get(label) ?? byClass.set(label, []).get(label)!).push(i);
  });
  let offset = 0;
  for (const [label, members] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    shuffleInPlace(members, mulberry32(mixSeeds(seed, 'health-folds', label)));
    // Continue the round robin across classes so small classes do not all land in fold 0.
    members.forEach((index, j) => (fold[index] = (offset + j) % folds));
    offset += members.length;
  }
  return fold;
}

/**
 * A multinomial logistic regression (softmax head) on standardised features, by full-batch gradient descent with
 * Adam; returns the probabilities of `predict` rows. Weights start at zero, so the result depends only on the data.
 */
export function fitSoftmaxAndPredict(
  x: Float32Array, dim: number, labels: Int32Array, classes: number,
  trainRows: number[], predictRows: number[], options: { steps: number; l2: number; learningRate?: number },
  engine: MatrixEngine = loopEngine,
): Float32Array {
  const m = trainRows.length;
  const lr = options.learningRate ?? 0.05;
  // Standardise with the training rows' statistics.
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (const r of trainRows) for (let k = 0; k < dim; k++) mean[k] += x[r * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= Math.max(1, m);
  for (const r of trainRows) for (let k = 0; k < dim; k++) sd[k] += (x[r * dim + k] - mean[k]) ** 2;
  const scale = new Float32Array(dim);
  for (let k = 0; k < dim; k++) {
    const s = Math.sqrt(sd[k] / Math.max(1, m));
    scale[k] = s > 1e-6 ? 1 / s : 0;
  }
  const standardise = (rows: number[]) => {
    const out = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => {
      for (let k = 0; k < dim; k++) out[i * dim + k] = (x[r * dim + k] - mean[k]) * scale[k];
    });
    return out;
  };
  const c = classes;
  // Class-major weights (w[j * dim + k]): the products are X·Wᵀ (logits) and Pᵀ·X (gradient), on the engine.
  const w = new Float32Array(c * dim);
  const b = new Float32Array(c);
  const gb = new Float64Array(c);
  const mw = new Float32Array(c * dim), vw = new Float32Array(c * dim), mb = new Float32Array(c), vb = new Float32Array(c);
  const p = new Float32Array(m * c);
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const xt = engine.hold(standardise(trainRows), m, dim);
  try {
    for (let step = 1; step <= options.steps; step++) {
      softmaxRows(xt.timesTransposed(w, c), m, b, c, p);
      for (let i = 0; i < m; i++) p[i * c + labels[trainRows[i]]] -= 1;
      const gw = xt.transposedTimes(p, c);
      gb.fill(0);
      for (let i = 0; i < m; i++) for (let j = 0; j < c; j++) gb[j] += p[i * c + j];
      const inv = 1 / Math.max(1, m);
      const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
      for (let q = 0; q < w.length; q++) {
        const g = gw[q] * inv + options.l2 * w[q];
        mw[q] = beta1 * mw[q] + (1 - beta1) * g;
        vw[q] = beta2 * vw[q] + (1 - beta2) * g * g;
        w[q] -= (lr * (mw[q] / c1)) / (Math.sqrt(vw[q] / c2) + eps);
      }
      for (let j = 0; j < c; j++) {
        const g = gb[j] * inv;
        mb[j] = beta1 * mb[j] + (1 - beta1) * g;
        vb[j] = beta2 * vb[j] + (1 - beta2) * g * g;
        b[j] -= (lr * (mb[j] / c1)) / (Math.sqrt(vb[j] / c2) + eps);
      }
    }
  } finally {
    xt.dispose();
  }
  const out = new Float32Array(predictRows.length * c);
  const xp = engine.hold(standardise(predictRows), predictRows.length, dim);
  try {
    softmaxRows(xp.timesTransposed(w, c), predictRows.length, b, c, out);
  } finally {
    xp.dispose();
  }
  return out;
}

/** Softmax of logits z (rows x c, without the bias) + b into out. */
function softmaxRows(logits: Float32Array, rows: number, b: Float32Array, c: number, out: Float32Array): void {
  const z = new Float64Array(c);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < c; j++) z[j] = logits[i * c + j] + b[j];
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, z[j]);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += (z[j] = Math.exp(z[j] - max));
    for (let j = 0; j < c; j++) out[i * c + j] = z[j] / sum;
  }
}

/**
 * Out-of-fold probabilities (n x classes; rows of unlabelled images stay 0): one softmax head per fold, each trained
 * on the other folds' rows, standardised by those rows' statistics. All folds' heads step together, so each step reads
 * the embeddings twice (logits X·W'ᵀ and gradient Pᵀ·X for every head at once) instead of twice per fold: the
 * standardisation (x - mean_f) * scale_f is folded into the weights (W' = W * scale_f, offset -W'·mean_f) and into
 * the gradient (scale_f * (Pᵀ·X - mean_f * sum P)). The same arithmetic as fitSoftmaxAndPredict per fold.
 */
export function outOfFoldProbabilities(
  x: Float32Array, dim: number, labels: Int32Array, classes: number, options: HealthOptions, report?: Report, signal?: AbortSignal,
  engine: MatrixEngine = loopEngine,
): Float32Array {
  const n = labels.length;
  const folds = options.folds;
  const c = classes;
  const heads = folds * c;
  const fold = stratifiedFolds(labels, folds, options.seed);
  // Per-fold sums; a head's training statistics are the totals minus its own fold's.
  const foldSum = new Float64Array(folds * dim), foldSquares = new Float64Array(folds * dim), foldCount = new Float64Array(folds);
  for (let i = 0; i < n; i++) {
    const f = fold[i];
    if (f < 0) continue;
    foldCount[f]++;
    for (let k = 0; k < dim; k++) {
      const v = x[i * dim + k];
      foldSum[f * dim + k] += v;
      foldSquares[f * dim + k] += v * v;
    }
  }
  const labelled = foldCount.reduce((t, v) => t + v, 0);
  const trainCount = Float64Array.from(foldCount, (v) => labelled - v);
  const mean = new Float64Array(folds * dim), scale = new Float64Array(folds * dim);
  for (let f = 0; f < folds; f++) {
    const m = Math.max(1, trainCount[f]);
    for (let k = 0; k < dim; k++) {
      let sum = 0, squares = 0;
      for (let g = 0; g < folds; g++) {
        if (g === f) continue;
        sum += foldSum[g * dim + k];
        squares += foldSquares[g * dim + k];
      }
      const mu = sum / m;
      const sd = Math.sqrt(Math.max(0, squares / m - mu * mu));
      mean[f * dim + k] = mu;
      scale[f * dim + k] = sd > 1e-6 ? 1 / sd : 0;
    }
  }
  const lr = options.learningRate ?? 0.05;
  const w = new Float32Array(heads * dim), b = new Float64Array(heads);
  const mw = new Float32Array(heads * dim), vw = new Float32Array(heads * dim), mb = new Float64Array(heads), vb = new Float64Array(heads);
  const effective = new Float32Array(heads * dim);
  const offset = new Float64Array(heads);
  const p = new Float32Array(n * heads);
  const z = new Float64Array(c);
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const probabilities = new Float32Array(n * classes);
  // Softmax of every head on every row into p; with `train`, minus the one-hot label on the head's training rows and
  // zero elsewhere (the gradient's P), else the held-out probabilities.
  const softmax = (logits: Float32Array, train: boolean) => {
    for (let i = 0; i < n; i++) {
      const own = fold[i];
      for (let f = 0; f < folds; f++) {
        const h = f * c, row = i * heads + h;
        if (train ? own < 0 || own === f : own !== f) {
          if (train) p.fill(0, row, row + c);
          continue;
        }
        let max = -Infinity;
        for (let j = 0; j < c; j++) max = Math.max(max, (z[j] = logits[row + j] + offset[h + j]));
        let sum = 0;
        for (let j = 0; j < c; j++) sum += (z[j] = Math.exp(z[j] - max));
        if (train) {
          for (let j = 0; j < c; j++) p[row + j] = z[j] / sum;
          p[row + labels[i]] -= 1;
        } else {
          for (let j = 0; j < c; j++) probabilities[i * c + j] = z[j] / sum;
        }
      }
    }
  };
  const prepare = () => {
    for (let f = 0; f < folds; f++) {
      for (let j = 0; j < c; j++) {
        const h = f * c + j;
        let shift = 0;
        for (let k = 0; k < dim; k++) {
          const v = w[h * dim + k] * scale[f * dim + k];
          effective[h * dim + k] = v;
          shift += v * mean[f * dim + k];
        }
        offset[h] = b[h] - shift;
      }
    }
  };
  const held = engine.hold(x, n, dim);
  try {
    for (let step = 1; step <= options.steps; step++) {
      signal?.throwIfAborted();
      report?.({ phase: 'fitting', done: Math.floor(((step - 1) / options.steps) * folds), total: folds });
      prepare();
      softmax(held.timesTransposed(effective, heads), true);
      const raw = held.transposedTimes(p, heads);
      const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
      for (let h = 0; h < heads; h++) {
        const f = Math.floor(h / c);
        let total = 0;
        for (let i = 0; i < n; i++) total += p[i * heads + h];
        const inv = 1 / Math.max(1, trainCount[f]);
        for (let k = 0; k < dim; k++) {
          const q = h * dim + k;
          const g = scale[f * dim + k] * (raw[q] - mean[f * dim + k] * total) * inv + options.l2 * w[q];
          mw[q] = beta1 * mw[q] + (1 - beta1) * g;
          vw[q] = beta2 * vw[q] + (1 - beta2) * g * g;
          w[q] -= (lr * (mw[q] / c1)) / (Math.sqrt(vw[q] / c2) + eps);
        }
        const g = total * inv;
        mb[h] = beta1 * mb[h] + (1 - beta1) * g;
        vb[h] = beta2 * vb[h] + (1 - beta2) * g * g;
        b[h] -= (lr * (mb[h] / c1)) / (Math.sqrt(vb[h] / c2) + eps);
      }
    }
    prepare();
    softmax(held.timesTransposed(effective, heads), false);
  } finally {
    held.dispose();
  }
  report?.({ phase: 'fitting', done: folds, total: folds });
  return probabilities;
}

/**
 * Confident learning (Northcutt et al.): per-class thresholds t_j = mean p_j over images labelled j; an image is a
 * label issue when its confident class (the most probable class whose probability reaches its threshold) is not its
 * label. Ranked by normalised margin: score = (1 - (p_label - max_other p)) / 2, 1 = surely wrong. Images the head
 * predicts as another class without reaching that class's threshold are listed too, unflagged, so the ranking goes
 * on past the flagged ones (a top-N list of N suspects is filled; measured on the bench).
 */
export function confidentLearning(probabilities: Float32Array, labels: Int32Array, classes: number): { issues: LabelIssue[]; thresholds: Float64Array } {
  const thresholds = new Float64Array(classes);
  const counts = new Float64Array(classes);
  labels.forEach((label, i) => {
    if (label < 0) return;
    thresholds[label] += probabilities[i * classes + label];
    counts[label] += 1;
  });
  for (let j = 0; j < classes; j++) thresholds[j] = counts[j] > 0 ? thresholds[j] / counts[j] : 1;
  const issues: LabelIssue[] = [];
  labels.forEach((label, i) => {
    if (label < 0) return;
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    let confident = -1;
    let best = -1;
    let bestOther = -1;
    let otherMax = 0;
    for (let j = 0; j < classes; j++) {
      if (row[j] >= thresholds[j] && (confident < 0 || row[j] > row[confident])) confident = j;
      if (best < 0 || row[j] > row[best]) best = j;
      if (j !== label && (bestOther < 0 || row[j] > otherMax)) {
        bestOther = j;
        otherMax = row[j];
      }
    }
    const flagged = confident >= 0 && confident !== label;
    if (!flagged && best === label) return;
    const margin = row[label] - otherMax;
    issues.push({ index: i, label, suggested: flagged ? confident : bestOther, score: (1 - margin) / 2, selfConfidence: row[label], flagged });
  });
  issues.sort((a, b) => b.score - a.score || a.index - b.index);
  return { issues, thresholds };
}

/** What one neighbour scan can collect besides kNN distances and duplicate pairs. */
export interface ScanExtras {
  /** Keep each image's `keep` nearest others as neighbour lists (the embedding map's UMAP graph). */
  keep?: number;
  /**
   * Labels (class index, -1 = unlabelled) and class count: each unlabelled image's `suggestionNeighbours` most similar
   * labelled images per class are collected from the same similarities, for neighbourSuggestions's vote.
   */
  labels?: Int32Array;
  classes?: number;
  suggestionNeighbours?: number;
}

export interface NeighbourScan {
  knnDistance: Float64Array;
  /** The pairs at or above the threshold, joined into groups. */
  duplicates: DuplicateLinker;
  /** With extras.keep: each image's nearest others. */
  neighbours: NeighbourLists | null;
  /** With extras.labels: the suggestions the per-class closest labelled images give (least certain first). */
  suggestions: Suggestion[] | null;
}

/**
 * For every image, its `k` most similar others (cosine on unit rows), and every pair at or above `threshold`.
 * Blocked Gram matrix: n^2 * dim / 2 multiply-adds, done once for duplicates, outliers, the map's neighbour lists and
 * the suggestions for unlabelled images (extras).
 */
export function neighbourScan(
  unit: Float32Array, dim: number, k: number, threshold: number, report?: Report, signal?: AbortSignal, engine: MatrixEngine = loopEngine,
  extras: ScanExtras = {},
): NeighbourScan {
  const n = unit.length / dim;
  const kk = Math.max(1, Math.min(k, n - 1));
  // Per row, the `width` largest similarities (kept sorted descending in a small array) and whose they are; the first
  // kk make the kNN distance, all of them the neighbour lists.
  const width = Math.max(kk, Math.min(extras.keep ?? 0, n - 1));
  const top = new Float64Array(n * width).fill(-Infinity);
  const topIndex = new Int32Array(n * width).fill(-1);
  const insert = (row: number, s: number, other: number) => {
    const base = row * width;
    if (s <= top[base + width - 1]) return;
    let q = width - 1;
    while (q > 0 && top[base + q - 1] < s) {
      top[base + q] = top[base + q - 1];
      topIndex[base + q] = topIndex[base + q - 1];
      q--;
    }
    top[base + q] = s;
    topIndex[base + q] = other;
  };
  const votes = extras.labels?.some((label) => label < 0) ? new ClassVotes(extras.labels!, extras.classes ?? 0, extras.suggestionNeighbours ?? 10) : null;
  const labels = extras.labels;
  const duplicates = new DuplicateLinker(n);
  // Row blocks against everything after them: the upper triangle once, memory (block x n) bounded for 20,000 images.
  const block = Math.max(16, Math.min(512, Math.floor(4_000_000 / Math.max(1, n))));
  const held = engine.hold(unit, n, dim);
  try {
    for (let i0 = 0; i0 < n; i0 += block) {
      signal?.throwIfAborted();
      report?.({ phase: 'comparing', done: i0, total: n });
      const i1 = Math.min(n, i0 + block);
      const columns = n - i0;
      const gram = held.selfProduct(i0, i1, i0);
      for (let i = i0; i < i1; i++) {
        const row = (i - i0) * columns - i0;
        const labelled = labels ? labels[i] >= 0 : false;
        for (let j = i + 1; j < n; j++) {
          const s = gram[row + j];
          insert(i, s, j);
          insert(j, s, i);
          if (s >= threshold) duplicates.link(i, j, s);
          // One side labelled, the other not: a vote for the unlabelled one.
          if (votes && labelled !== labels![j] >= 0) {
            if (labelled) votes.add(j, labels![i], s);
            else votes.add(i, labels![j], s);
          }
        }
      }
    }
  } finally {
    held.dispose();
  }
  report?.({ phase: 'comparing', done: n, total: n });
  const knnDistance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let count = 0;
    for (let q = 0; q < kk; q++) {
      const s = top[i * width + q];
      if (s === -Infinity) continue;
      sum += 1 - s;
      count++;
    }
    knnDistance[i] = count ? sum / count : 0;
  }
  let neighbours: NeighbourLists | null = null;
  if (extras.keep) {
    const count = Math.min(extras.keep, n - 1);
    const indices = new Int32Array(n * count), similarities = new Float32Array(n * count);
    for (let i = 0; i < n; i++) {
      indices.set(topIndex.subarray(i * width, i * width + count), i * count);
      similarities.set(top.subarray(i * width, i * width + count), i * count);
    }
    neighbours = { count, indices, similarities };
  }
  return { knnDistance, duplicates, neighbours, suggestions: votes ? votes.suggestions() : null };
}

/**
 * The rows' projection on their first `components` principal components (n x components, row-major), by seeded
 * subspace (power) iteration on the centred data without forming the covariance: 2 x (n x dim x components) products
 * per round. Signs are fixed (largest loading positive) so one dataset always gives the same picture.
 */
export function principalProjection(
  x: Float32Array, dim: number, components: number, seed: number, engine: MatrixEngine = loopEngine, rounds = 30,
): Float32Array {
  const n = x.length / dim;
  if (n === 0) return new Float32Array(0);
  const c = components;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += x[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= n;
  const rng = mulberry32(mixSeeds(seed, 'health-map'));
  let v: Float32Array = Float32Array.from({ length: c * dim }, () => rng() - 0.5);
  const orthonormalise = (basis: Float32Array) => {
    for (let a = 0; a < c; a++) {
      const row = basis.subarray(a * dim, (a + 1) * dim);
      for (let prev = 0; prev < a; prev++) {
        const other = basis.subarray(prev * dim, (prev + 1) * dim);
        let d = 0;
        for (let k = 0; k < dim; k++) d += row[k] * other[k];
        for (let k = 0; k < dim; k++) row[k] -= d * other[k];
      }
      let norm = 0;
      for (let k = 0; k < dim; k++) norm += row[k] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let k = 0; k < dim; k++) row[k] /= norm;
    }
  };
  const held = engine.hold(x, n, dim);
  // Centred projections U = (X - 1 mean) Vᵀ.
  const project = (basis: Float32Array) => {
    const u = held.timesTransposed(basis, c);
    for (let a = 0; a < c; a++) {
      let shift = 0;
      for (let k = 0; k < dim; k++) shift += mean[k] * basis[a * dim + k];
      for (let i = 0; i < n; i++) u[i * c + a] -= shift;
    }
    return u;
  };
  try {
    orthonormalise(v);
    for (let round = 0; round < rounds; round++) {
      const u = project(v);
      // (X - 1 mean)ᵀ U = Xᵀ U - mean (1ᵀ U)
      const next = held.transposedTimes(u, c);
      for (let a = 0; a < c; a++) {
        let total = 0;
        for (let i = 0; i < n; i++) total += u[i * c + a];
        for (let k = 0; k < dim; k++) next[a * dim + k] -= mean[k] * total;
      }
      orthonormalise(next);
      v = next;
    }
    for (let a = 0; a < c; a++) {
      let largest = 0;
      for (let k = 0; k < dim; k++) if (Math.abs(v[a * dim + k]) > Math.abs(v[a * dim + largest])) largest = k;
      if (v[a * dim + largest] < 0) for (let k = 0; k < dim; k++) v[a * dim + k] = -v[a * dim + k];
    }
    return project(v);
  } finally {
    held.dispose();
  }
}

/** The rows' projection on their first two principal components (the map of sets too small for UMAP). */
export function principalPlane(x: Float32Array, dim: number, seed: number, engine: MatrixEngine = loopEngine, rounds = 30): MapPoint[] {
  const u = principalProjection(x, dim, 2, seed, engine, rounds);
  return Array.from({ length: u.length / 2 }, (_, index) => ({ index, x: u[index * 2], y: u[index * 2 + 1] }));
}

/** Fewer images than this and the map is the PCA plane: UMAP needs well more points than neighbours. */
export const UMAP_MIN_POINTS = 32;
/** Each image's neighbours in the map's UMAP graph (15 with itself, umap-learn's default). */
export const MAP_NEIGHBOURS = 14;
/** Principal components the neighbour search of a standalone map works in (cosine on the reduced rows). */
const MAP_COMPONENTS = 50;
/** Subspace iteration rounds for those components: neighbours need the dominant subspace, not exact components. */
const MAP_COMPONENT_ROUNDS = 8;

export interface EmbeddingMap { points: MapPoint[]; method: 'umap' | 'pca' }

/**
 * The 2-D embedding map of unit rows: UMAP (seeded, started from the PCA plane) on each image's MAP_NEIGHBOURS
 * nearest others, or the PCA plane below UMAP_MIN_POINTS images. Without `neighbours` (the health analysis passes its
 * neighbour scan's), they are found by cosine on the first MAP_COMPONENTS principal components. Async: it yields
 * between UMAP epochs, so progress is sent and a cancel is read.
 */
export async function embeddingMap(
  unit: Float32Array, dim: number, seed: number,
  options: {
    engine?: MatrixEngine; neighbours?: NeighbourLists | null; report?: Report; signal?: AbortSignal; epochs?: number; sliceMs?: number;
  } = {},
): Promise<EmbeddingMap> {
  const engine = options.engine ?? loopEngine;
  const n = unit.length / dim;
  const points = (u: Float32Array) => Array.from({ length: n }, (_, index) => ({ index, x: u[index * 2], y: u[index * 2 + 1] }));
  if (n < UMAP_MIN_POINTS) return { points: points(principalProjection(unit, dim, 2, seed, engine)), method: 'pca' };
  let neighbours = options.neighbours ?? null;
  let plane: Float32Array;
  if (!neighbours || neighbours.count < MAP_NEIGHBOURS) {
    const components = Math.min(MAP_COMPONENTS, dim);
    const projected = components < dim ? principalProjection(unit, dim, components, seed, engine, MAP_COMPONENT_ROUNDS) : unit;
    // The plane within those components: the same two leading directions, without 30 more passes over all n x dim.
    plane = principalProjection(projected, components, 2, seed, engine);
    options.signal?.throwIfAborted();
    neighbours = neighbourScan(normaliseRows(projected, components), components, 1, Infinity, undefined, options.signal, engine, { keep: MAP_NEIGHBOURS }).neighbours!;
  } else {
    plane = principalProjection(unit, dim, 2, seed, engine);
    if (neighbours.count > MAP_NEIGHBOURS) neighbours = firstNeighbours(neighbours, MAP_NEIGHBOURS);
  }
  const layout = await umapLayout(neighbours, plane, {
    seed, epochs: options.epochs, signal: options.signal, sliceMs: options.sliceMs,
    report: ({ epoch, epochs }) => options.report?.({ phase: 'mapping', done: epoch, total: epochs }),
  });
  return { points: points(layout), method: 'umap' };
}

function firstNeighbours(lists: NeighbourLists, count: number): NeighbourLists {
  const n = lists.indices.length / lists.count;
  const indices = new Int32Array(n * count), similarities = new Float32Array(n * count);
  for (let i = 0; i < n; i++) {
    indices.set(lists.indices.subarray(i * lists.count, i * lists.count + count), i * count);
    similarities.set(lists.similarities.subarray(i * lists.count, i * lists.count + count), i * count);
  }
  return { count, indices, similarities };
}

/** How sharply class closeness turns into a suggestion's confidence (cosine similarities differ by hundredths). */
const SUGGESTION_TEMPERATURE = 0.05;

/**
 * Per unlabelled image, the `k` largest similarities to each class's labelled images (sorted descending), fed one
 * similarity at a time; then the suggestions they give. Shared by the neighbour scan (which sees every pair anyway)
 * and neighbourSuggestions (on its own).
 */
class ClassVotes {
  private readonly slot: Int32Array;
  private readonly unlabelled: number[] = [];
  private readonly top: Float64Array;
  private readonly perClass: number[];
  private readonly kk: number[];

  constructor(private readonly labels: Int32Array, private readonly classes: number, private readonly k: number) {
    this.slot = new Int32Array(labels.length).fill(-1);
    this.perClass = new Array<number>(classes).fill(0);
    labels.forEach((label, i) => {
      if (label >= 0) this.perClass[label]++;
      else this.slot[i] = this.unlabelled.push(i) - 1;
    });
    this.kk = this.perClass.map((count) => Math.min(k, count));
    this.top = new Float64Array(this.unlabelled.length * classes * k).fill(-Infinity);
  }

  /** A similarity between unlabelled image `row` and a labelled image of class `label`. */
  add(row: number, label: number, sim: number): void {
    const base = (this.slot[row] * this.classes + label) * this.k, last = this.kk[label] - 1;
    const top = this.top;
    if (sim <= top[base + last]) return;
    let q = last;
    while (q > 0 && top[base + q - 1] < sim) {
      top[base + q] = top[base + q - 1];
      q--;
    }
    top[base + q] = sim;
  }

  /**
   * Each class's closeness is the mean of its kk most similar labelled rows, and a softmax over those (temperature
   * SUGGESTION_TEMPERATURE) gives confidence and margin. Sorted least certain first: smallest margin, then lowest
   * confidence, then index. None without two labelled classes.
   */
  suggestions(): Suggestion[] {
    const { classes, k, kk } = this;
    const present = this.perClass.flatMap((count, j) => (count > 0 ? [j] : []));
    if (this.unlabelled.length === 0 || present.length < 2) return [];
    const closeness = new Float64Array(classes);
    const suggestions: Suggestion[] = this.unlabelled.map((index, u) => {
      const base = u * classes * k;
      let highest = -Infinity;
      for (const j of present) {
        let sum = 0;
        for (let q = 0; q < kk[j]; q++) sum += this.top[base + j * k + q];
        closeness[j] = sum / kk[j];
        highest = Math.max(highest, closeness[j]);
      }
      let total = 0, best = present[0], second = present[1];
      for (const j of present) total += Math.exp((closeness[j] - highest) / SUGGESTION_TEMPERATURE);
      for (const j of present) if (closeness[j] > closeness[best]) best = j;
      for (const j of present) if (j !== best && (second === best || closeness[j] > closeness[second])) second = j;
      const share = (j: number) => Math.exp((closeness[j] - highest) / SUGGESTION_TEMPERATURE) / total;
      const confidence = share(best);
      return { index, suggested: best, confidence, margin: confidence - share(second) };
    });
    suggestions.sort((a, b) => a.margin - b.margin || a.confidence - b.confidence || a.index - b.index);
    return suggestions;
  }
}

/**
 * Suggested labels for the unlabelled rows from the labelled ones: each class's closeness is the mean cosine similarity
 * of its `k` most similar labelled rows, and a softmax over those gives confidence and margin (ClassVotes). Per class
 * rather than one vote among the k nearest overall, so an image halfway between two classes reads as uncertain even
 * when its very nearest neighbours all share one label. Sorted least certain first. Cost: unlabelled x labelled x dim,
 * in blocks; the health analysis gets the same from its neighbour scan instead.
 */
export function neighbourSuggestions(
  unit: Float32Array, dim: number, labels: Int32Array, classes: number, k = 10, signal?: AbortSignal, engine: MatrixEngine = loopEngine,
): Suggestion[] {
  const labelled: number[] = [], unlabelled: number[] = [];
  labels.forEach((label, i) => (label >= 0 ? labelled : unlabelled).push(i));
  const votes = new ClassVotes(labels, classes, k);
  if (unlabelled.length === 0 || labelled.length === 0) return votes.suggestions();
  const rowsOf = (indices: number[]) => {
    const out = new Float32Array(indices.length * dim);
    indices.forEach((row, i) => out.set(unit.subarray(row * dim, (row + 1) * dim), i * dim));
    return out;
  };
  const held = engine.hold(rowsOf(labelled), labelled.length, dim);
  try {
    const block = Math.max(16, Math.min(512, Math.floor(4_000_000 / labelled.length)));
    for (let u0 = 0; u0 < unlabelled.length; u0 += block) {
      signal?.throwIfAborted();
      const rows = unlabelled.slice(u0, u0 + block);
      const similarity = held.timesTransposed(rowsOf(rows), rows.length); // labelled x rows
      for (let c = 0; c < rows.length; c++) {
        for (let l = 0; l < labelled.length; l++) votes.add(rows[c], labels[labelled[l]], similarity[l * rows.length + c]);
      }
    }
  } finally {
    held.dispose();
  }
  return votes.suggestions();
}

/**
 * Near-duplicate pairs joined into groups as the scan finds them (union-find over image indices): memory grows with
 * the images, not with the pairs, which grow with the square of a group's size (groups of hundreds of look-alike
 * photos are millions of pairs). A group's similarity is its weakest linking pair.
 */
export class DuplicateLinker {
  private readonly parent: Int32Array;
  private readonly weakest: Float64Array;
  /** Pairs linked so far. */
  pairs = 0;

  constructor(readonly size: number) {
    this.parent = new Int32Array(size).fill(-1); // -1: in no pair
    this.weakest = new Float64Array(size).fill(1);
  }

  private find(v: number): number {
    let root = v;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[v] !== root) {
      const next = this.parent[v];
      this.parent[v] = root;
      v = next;
    }
    return root;
  }

  link(a: number, b: number, similarity: number): void {
    if (this.parent[a] < 0) this.parent[a] = a;
    if (this.parent[b] < 0) this.parent[b] = b;
    const ra = this.find(a), rb = this.find(b);
    const root = Math.min(ra, rb);
    this.weakest[root] = Math.min(this.weakest[ra], this.weakest[rb], similarity);
    this.parent[Math.max(ra, rb)] = root;
    this.pairs++;
  }

  /** The groups, most similar first (then by first image); each group's images ascending. */
  groups(subsets: Array<string | null>): DuplicateGroup[] {
    const members = new Map<number, number[]>();
    for (let v = 0; v < this.size; v++) {
      if (this.parent[v] < 0) continue;
      const root = this.find(v);
      (members.get(root) ?? members.set(root, []).get(root)!).push(v);
    }
    const groups = [...members.entries()].map(([root, indices]) => {
      const splits = new Set(indices.map((i) => subsets[i]).filter((s): s is string => s !== null));
      return { indices, similarity: this.weakest[root], crossesSplits: splits.size > 1 };
    });
    groups.sort((x, y) => y.similarity - x.similarity || x.indices[0] - y.indices[0]);
    return groups;
  }
}

/** Images whose kNN distance is far above the rest: median + 3 * MAD (scaled), at most 1% of the images plus one. */
export function pickOutliers(knnDistance: Float64Array): { outliers: Outlier[]; threshold: number } {
  const n = knnDistance.length;
  if (n < 3) return { outliers: [], threshold: Infinity };
  const sorted = Float64Array.from(knnDistance).sort();
  const median = sorted[Math.floor(n / 2)];
  const deviations = Float64Array.from(knnDistance, (d) => Math.abs(d - median)).sort();
  const mad = deviations[Math.floor(n / 2)] * 1.4826;
  const threshold = median + 3 * Math.max(mad, 1e-6);
  const outliers = [...knnDistance].map((score, index) => ({ index, score })).filter((o) => o.score >= threshold);
  outliers.sort((a, b) => b.score - a.score || a.index - b.index);
  return { outliers: outliers.slice(0, Math.floor(n / 100) + 1), threshold };
}

/**
 * The whole analysis. `report` is called between folds, blocks and map epochs; `signal` cancels between them (the map's
 * epochs also yield to the event loop, where a cancel arrives).
 */
export async function analyseHealth(
  input: HealthInput, options: HealthOptions = DEFAULT_HEALTH_OPTIONS, report?: Report, signal?: AbortSignal, engine: MatrixEngine = loopEngine,
): Promise<HealthAnalysis> {
  const { dim, labels, classNames } = input;
  const n = labels.length;
  if (input.embeddings.length !== n * dim) throw new Error(`analyseHealth: ${n} images need ${n * dim} values, got ${input.embeddings.length}`);
  if (!Number.isInteger(options.folds) || options.folds < 2) throw new Error('folds must be a whole number of at least 2');
  const classes = classNames.length;
  const unit = normaliseRows(input.embeddings, dim, input.embeddingsReusable ? input.embeddings : undefined);
  const counts = new Array<number>(classes).fill(0);
  labels.forEach((l) => l >= 0 && counts[l]++);
  const labelled = counts.reduce((a, b) => a + b, 0);
  const usable = counts.filter((c) => c > 0).length;

  let t0 = performance.now();
  let issues: LabelIssue[] = [];
  let thresholds: Float64Array = new Float64Array(classes).fill(1);
  let probabilities: Float32Array = new Float32Array(n * classes);
  // A head needs two classes, and every fold needs something to train on.
  if (usable >= 2 && labelled >= options.folds * 2) {
    probabilities = outOfFoldProbabilities(unit, dim, labels, classes, options, report, signal, engine);
    ({ issues, thresholds } = confidentLearning(probabilities, labels, classes));
  }
  const headSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  // One scan for duplicates, outliers, the map's neighbour lists and the unlabelled images' suggestions.
  const reuse = input.map && input.map.points.length === n ? input.map : null;
  const scan = neighbourScan(unit, dim, options.neighbours, options.duplicateThreshold, report, signal, engine, {
    keep: n >= UMAP_MIN_POINTS && !reuse ? MAP_NEIGHBOURS : 0,
    ...(usable >= 2 ? { labels, classes, suggestionNeighbours: options.neighbours } : {}),
  });
  const nearDuplicates = scan.duplicates.groups(input.subsets);
  const { outliers, threshold: outlierThreshold } = pickOutliers(scan.knnDistance);
  const suggestions = scan.suggestions ?? [];
  const similaritySeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  signal?.throwIfAborted();
  report?.({ phase: 'mapping', done: 0, total: 1 });
  const { points: map, method: mapMethod } = reuse ?? await embeddingMap(unit, dim, options.seed, { engine, neighbours: scan.neighbours, report, signal });
  const mapSeconds = (performance.now() - t0) / 1000;

  const flagged = new Array<number>(classes).fill(0);
  for (const issue of issues) if (issue.flagged) flagged[issue.label]++;
  const selfConfidence = new Array<number>(classes).fill(0);
  const correct = new Array<number>(classes).fill(0);
  let correctAll = 0;
  labels.forEach((label, i) => {
    if (label < 0) return;
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    selfConfidence[label] += row[label];
    let best = 0;
    for (let j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
    if (best === label) {
      correct[label]++;
      correctAll++;
    }
  });
  const present = counts.filter((c) => c > 0);
  return {
    labelIssues: issues,
    map,
    mapMethod,
    suggestions,
    nearDuplicates,
    outliers,
    classes: classNames.map((name, j) => ({
      name,
      count: counts[j],
      share: labelled ? counts[j] / labelled : 0,
      meanSelfConfidence: counts[j] ? selfConfidence[j] / counts[j] : 0,
      threshold: thresholds[j],
      outOfFoldAccuracy: counts[j] ? correct[j] / counts[j] : 0,
      labelIssues: flagged[j],
    })),
    imbalanceRatio: present.length ? Math.max(...present) / Math.min(...present) : null,
    outOfFoldAccuracy: usable >= 2 && labelled ? correctAll / labelled : null,
    outlierThreshold,
    timings: { headSeconds, similaritySeconds, mapSeconds },
  };
}
