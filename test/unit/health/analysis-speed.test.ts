import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseHealth, confidentLearning, DEFAULT_HEALTH_OPTIONS, DuplicateLinker, fitSoftmaxAndPredict, loopEngine, neighbourScan,
  outOfFoldProbabilities, principalPlane, stratifiedFolds, type HeldMatrix, type MatrixEngine,
} from '../../../electron/health/analysis';
import { tfMatrixEngine } from '../../../electron/health/worker/tf-matrix';
import { tf } from '../../../electron/tfjs/tf';
import { selectBackend } from '../../../electron/tfjs/backend/select-backend';
import { setNativeKernelsEnabled } from '../../../electron/tfjs/backend/native-kernels';
import { mulberry32 } from '../../../shared/random';

// The health analysis made fast (all folds' heads in one pass, products on TensorFlow.js in the worker, blocked
// similarities) must give the figures of the plain per-fold loops, the same answer for one seed, and more.

/** The groups a linker makes of these pairs, linked in order. */
function duplicateGroups(pairs: Array<{ a: number; b: number; similarity: number }>, subsets: Array<string | null>) {
  const linker = new DuplicateLinker(subsets.length);
  for (const { a, b, similarity } of pairs) linker.link(a, b, similarity);
  return linker.groups(subsets);
}

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
}

/** Three noisy clusters with 12 flipped labels and one unlabelled row every 9. */
function clusters(seed: number, perClass = 60, dim = 24) {
  const rng = mulberry32(seed);
  const centres = [0, 1, 2].map(() => Array.from({ length: dim }, () => gaussian(rng) * 1.5));
  const rows: number[] = [];
  const labels: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < perClass; i++) {
      rows.push(...centres[c].map((v) => v + gaussian(rng) * 1.3 + 0.5));
      labels.push(c);
    }
  }
  for (let f = 0; f < 12; f++) {
    const i = Math.floor(rng() * labels.length);
    labels[i] = (labels[i] + 1) % 3;
  }
  for (let i = 0; i < labels.length; i += 9) labels[i] = -1;
  return { x: Float32Array.from(rows), dim, labels: Int32Array.from(labels), classNames: ['a', 'b', 'c'], subsets: labels.map(() => 'train') };
}

test('all folds fitted at once give the probabilities of one head per fold fitted on its own', () => {
  const data = clusters(5);
  const options = { ...DEFAULT_HEALTH_OPTIONS, steps: 25 };
  const joint = outOfFoldProbabilities(data.x, data.dim, data.labels, 3, options);
  const fold = stratifiedFolds(data.labels, options.folds, options.seed);
  let largest = 0;
  for (let f = 0; f < options.folds; f++) {
    const train: number[] = [], held: number[] = [];
    fold.forEach((g, i) => g >= 0 && (g === f ? held : train).push(i));
    const alone = fitSoftmaxAndPredict(data.x, data.dim, data.labels, 3, train, held, options);
    held.forEach((row, i) => {
      for (let j = 0; j < 3; j++) largest = Math.max(largest, Math.abs(alone[i * 3 + j] - joint[row * 3 + j]));
    });
  }
  assert.ok(largest < 1e-4, `largest difference ${largest}`);
  // Unlabelled rows get no probabilities.
  assert.deepEqual([...joint.subarray(0, 3)], [0, 0, 0]);
});

test('the blocked similarity scan finds the pairs and neighbour distances of the full Gram matrix', () => {
  const rng = mulberry32(3);
  const n = 700, dim = 6;
  const unit = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (unit[i * dim + k] = gaussian(rng)) ** 2;
    for (let k = 0; k < dim; k++) unit[i * dim + k] /= Math.sqrt(s);
  }
  const blocks: number[] = [];
  const recording: MatrixEngine = {
    name: 'recording',
    hold(values, rows, cols) {
      const held = loopEngine.hold(values, rows, cols);
      return { ...held, selfProduct: (r0, r1, c0) => (blocks.push(r1 - r0), held.selfProduct(r0, r1, c0)) } satisfies HeldMatrix;
    },
  };
  const scan = neighbourScan(unit, dim, 4, 0.97, undefined, undefined, recording);
  assert.ok(blocks.length > 1, 'more than one block of rows');
  const sim = (a: number, b: number) => { let s = 0; for (let k = 0; k < dim; k++) s += unit[a * dim + k] * unit[b * dim + k]; return s; };
  const expectedPairs: string[] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (sim(a, b) >= 0.97) expectedPairs.push(`${a}-${b}`);
  assert.equal(scan.duplicates.pairs, expectedPairs.length);
  const subsets = Array<string | null>(n).fill(null);
  const expected = expectedPairs.map((pair) => pair.split('-').map(Number)).map(([a, b]) => ({ a, b, similarity: sim(a, b) }));
  const groups = scan.duplicates.groups(subsets);
  assert.ok(groups.length > 0, 'the scan found near-duplicates');
  assert.deepEqual(groups.map((g) => g.indices), duplicateGroups(expected, subsets).map((g) => g.indices));
  groups.forEach((g, i) => assert.ok(Math.abs(g.similarity - duplicateGroups(expected, subsets)[i].similarity) < 1e-5));
  for (const i of [0, 349, 350, 699]) {
    const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => 1 - sim(i, j)).sort((a, b) => a - b);
    const expected = others.slice(0, 4).reduce((t, v) => t + v, 0) / 4;
    assert.ok(Math.abs(scan.knnDistance[i] - expected) < 1e-5, `row ${i}: ${scan.knnDistance[i]} vs ${expected}`);
  }
});

test('images the head puts in another class below its threshold are listed too, unflagged, ranked by score', () => {
  // Class 1's threshold is 0.95, so image 2 (label 0, p1 = 0.55) is not flagged, yet the head predicts class 1.
  const probabilities = Float32Array.from([0.9, 0.1, 0.9, 0.1, 0.45, 0.55, 0.05, 0.95, 0.05, 0.95, 0.95, 0.05]);
  const labels = Int32Array.from([0, 0, 0, 1, 1, 1]);
  const { issues } = confidentLearning(probabilities, labels, 2);
  assert.deepEqual(issues.map((i) => ({ index: i.index, suggested: i.suggested, flagged: i.flagged, score: Math.round(i.score * 100) / 100 })), [
    { index: 5, suggested: 0, flagged: true, score: 0.95 },
    { index: 2, suggested: 1, flagged: false, score: 0.55 },
  ]);
});

test('the map is the first two principal components, the same for one seed and the same on TensorFlow.js', async () => {
  // Points along a line in 5-D (parameter t) with a smaller spread along a second direction and a little noise.
  const rng = mulberry32(9);
  const n = 200, dim = 5;
  const t = Array.from({ length: n }, () => gaussian(rng) * 3);
  const u = Array.from({ length: n }, () => gaussian(rng));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const row = [t[i] + 1, t[i] + 2, u[i], -u[i], 0].map((v) => v + gaussian(rng) * 0.05);
    x.set(row, i * dim);
  }
  const map = principalPlane(x, dim, 1);
  const corr = (a: number[], b: number[]) => {
    const ma = a.reduce((s, v) => s + v, 0) / a.length, mb = b.reduce((s, v) => s + v, 0) / b.length;
    let sab = 0, saa = 0, sbb = 0;
    a.forEach((v, i) => { sab += (v - ma) * (b[i] - mb); saa += (v - ma) ** 2; sbb += (b[i] - mb) ** 2; });
    return sab / Math.sqrt(saa * sbb);
  };
  assert.ok(Math.abs(corr(map.map((p) => p.x), t)) > 0.999, 'x follows the largest spread');
  assert.ok(Math.abs(corr(map.map((p) => p.y), u)) > 0.99, 'y follows the second');
  assert.deepEqual(principalPlane(x, dim, 1), map);
  await selectBackend('auto');
  const onTf = principalPlane(x, dim, 1, tfMatrixEngine(tf));
  onTf.forEach((p, i) => assert.ok(Math.abs(p.x - map[i].x) < 1e-3 && Math.abs(p.y - map[i].y) < 1e-3, `point ${i}`));
});

test('the analysis on TensorFlow.js matMul gives the loops\' answer, and the same answer twice', async () => {
  await selectBackend('auto');
  const data = clusters(21, 80, 32);
  const input = { embeddings: data.x, dim: data.dim, labels: data.labels, classNames: data.classNames, subsets: data.subsets };
  const options = { ...DEFAULT_HEALTH_OPTIONS, duplicateThreshold: 0.95 };
  const loops = await analyseHealth(input, options);
  const engine = tfMatrixEngine(tf);
  const before = tf.memory().numTensors;
  const one = await analyseHealth(input, options, undefined, undefined, engine);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  const two = await analyseHealth(input, options, undefined, undefined, engine);
  const strip = (a: typeof one) => ({ ...a, timings: null });
  assert.deepEqual(strip(one), strip(two));
  assert.deepEqual(one.labelIssues.map((i) => [i.index, i.suggested, i.flagged]), loops.labelIssues.map((i) => [i.index, i.suggested, i.flagged]));
  one.labelIssues.forEach((issue, i) => assert.ok(Math.abs(issue.score - loops.labelIssues[i].score) < 1e-4));
  assert.deepEqual(one.nearDuplicates.map((g) => g.indices), loops.nearDuplicates.map((g) => g.indices));
  assert.deepEqual(one.outliers.map((o) => o.index), loops.outliers.map((o) => o.index));
  assert.ok(one.labelIssues.some((i) => i.flagged) && one.map.length === data.labels.length);
});

for (const kernels of ['with', 'without'] as const) test(`the TensorFlow.js engine's products match the loops', with Gram blocks built from several row chunks (${kernels} the C kernels)`, async () => {
  await selectBackend('auto');
  setNativeKernelsEnabled(kernels === 'with');
  const rng = mulberry32(8);
  const rows = 53, cols = 19, k = 4;
  const x = Float32Array.from({ length: rows * cols }, () => rng() * 2 - 1);
  const p = Float32Array.from({ length: rows * k }, () => rng() * 2 - 1);
  const b = Float32Array.from({ length: 6 * cols }, () => rng() * 2 - 1);
  const loops = loopEngine.hold(x, rows, cols);
  const before = tf.memory().numTensors;
  // Chunks of 7 rows: every Gram block below spans several, the last one short.
  const held = tfMatrixEngine(tf, { gramRowsPerProduct: 7 }).hold(x, rows, cols);
  const close = (got: Float32Array, want: Float32Array, what: string) => {
    assert.equal(got.length, want.length, what);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${what} [${i}]: ${v} vs ${want[i]}`));
  };
  try {
    close(held.transposedTimes(p, k), Float32Array.from(loops.transposedTimes(p, k)), 'Pᵀ·A');
    close(held.timesTransposed(b, 6), Float32Array.from(loops.timesTransposed(b, 6)), 'A·Bᵀ');
    for (const [r0, r1, c0] of [[0, 16, 0], [16, 32, 16], [40, 53, 40], [50, 53, 3]]) {
      close(held.selfProduct(r0, r1, c0), Float32Array.from(loops.selfProduct(r0, r1, c0)), `Gram ${r0}..${r1} from ${c0}`);
    }
  } finally {
    held.dispose();
    setNativeKernelsEnabled(true);
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

test('near-duplicate groups joined pair by pair are the connected groups of the pairs, each as similar as its weakest pair', () => {
  const rng = mulberry32(12);
  const n = 300;
  const pairs = Array.from({ length: 260 }, () => {
    const a = Math.floor(rng() * n);
    return { a, b: (a + 1 + Math.floor(rng() * 5)) % n, similarity: 0.87 + rng() * 0.13 };
  });
  const subsets = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 'val' : i % 5 === 0 ? null : 'train'));
  // Reference: components by graph search over the pairs.
  const adjacent = new Map<number, number[]>();
  for (const { a, b } of pairs) {
    (adjacent.get(a) ?? adjacent.set(a, []).get(a)!).push(b);
    (adjacent.get(b) ?? adjacent.set(b, []).get(b)!).push(a);
  }
  const component = new Map<number, number>();
  for (const start of [...adjacent.keys()].sort((x, y) => x - y)) {
    if (component.has(start)) continue;
    const stack = [start];
    component.set(start, start);
    while (stack.length) {
      for (const next of adjacent.get(stack.pop()!)!) {
        if (component.has(next)) continue;
        component.set(next, start);
        stack.push(next);
      }
    }
  }
  const expected = new Map<number, { indices: number[]; similarity: number }>();
  for (const [v, root] of component) (expected.get(root) ?? expected.set(root, { indices: [], similarity: 1 }).get(root)!).indices.push(v);
  for (const { a, similarity } of pairs) {
    const group = expected.get(component.get(a)!)!;
    group.similarity = Math.min(group.similarity, similarity);
  }
  const groups = duplicateGroups(pairs, subsets);
  const want = [...expected.values()].map((g) => ({
    indices: g.indices.sort((x, y) => x - y), similarity: g.similarity,
    crossesSplits: new Set(g.indices.map((i) => subsets[i]).filter((s) => s !== null)).size > 1,
  })).sort((x, y) => y.similarity - x.similarity || x.indices[0] - y.indices[0]);
  assert.ok(want.length > 5 && want.some((g) => g.indices.length > 3), 'groups of several sizes');
  assert.deepEqual(groups, want);
});
