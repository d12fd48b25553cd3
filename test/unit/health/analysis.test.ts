import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseHealth, DEFAULT_HEALTH_OPTIONS, normaliseRows, stratifiedFolds } from '../../../electron/health/analysis';
import { mixSeeds, mulberry32 } from '../../../shared/random';

// Synthetic embeddings: three classes as Gaussian clusters, 15 labels flipped, 10 near-copies (tiny noise) and one
// point far from everything. The analysis must find each kind of planted problem, and the same seed must give the
// same answer.

const DIM = 48;
const PER_CLASS = 100;

function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function plantedData(seed: number) {
  const rng = mulberry32(seed);
  const centres = [0, 1, 2].map(() => Array.from({ length: DIM }, () => gaussian(rng) * 2));
  const rows: number[][] = [];
  const truth: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < PER_CLASS; i++) {
      rows.push(centres[c].map((v) => v + gaussian(rng) * 1.2));
      truth.push(c);
    }
  }
  const labels = [...truth];
  const flipped = new Set<number>();
  while (flipped.size < 15) flipped.add(Math.floor(rng() * rows.length));
  for (const i of flipped) labels[i] = (labels[i] + 1 + Math.floor(rng() * 2)) % 3;
  const duplicatePairs: Array<[number, number]> = [];
  for (let d = 0; d < 10; d++) {
    const source = d * 29 + 3;
    rows.push(rows[source].map((v) => v + gaussian(rng) * 0.05));
    labels.push(labels[source]);
    duplicatePairs.push([source, rows.length - 1]);
  }
  rows.push(Array.from({ length: DIM }, () => gaussian(rng) * 12));
  labels.push(0);
  const outlier = rows.length - 1;
  const subsets = rows.map((_, i) => (i % 5 === 0 ? 'test' : 'train'));
  return {
    input: {
      embeddings: Float32Array.from(rows.flat()), dim: DIM, labels: Int32Array.from(labels), classNames: ['a', 'b', 'c'], subsets,
    },
    flipped, duplicatePairs, outlier,
  };
}

test('planted label flips rank first, with their true class suggested', async () => {
  const data = plantedData(7);
  const analysis = await analyseHealth(data.input, { ...DEFAULT_HEALTH_OPTIONS, duplicateThreshold: 0.99 });
  const top = analysis.labelIssues.slice(0, data.flipped.size);
  const hits = top.filter((issue) => data.flipped.has(issue.index)).length;
  assert.ok(hits / data.flipped.size >= 0.8, `precision among the top ${data.flipped.size}: ${hits}`);
  for (const issue of top.filter((i) => data.flipped.has(i.index))) {
    assert.notEqual(issue.suggested, issue.label);
    assert.ok(issue.score > 0.5 && issue.score <= 1);
  }
  // Scores are in order, most likely first.
  for (let i = 1; i < analysis.labelIssues.length; i++) assert.ok(analysis.labelIssues[i - 1].score >= analysis.labelIssues[i].score);
  assert.equal(analysis.classes.length, 3);
  assert.equal(analysis.classes.reduce((n, c) => n + c.labelIssues, 0), analysis.labelIssues.filter((i) => i.flagged).length);
  assert.ok(analysis.outOfFoldAccuracy! > 0.85);
});

test('planted near-duplicates are grouped and a far point is an outlier', async () => {
  const data = plantedData(7);
  const analysis = await analyseHealth(data.input, { ...DEFAULT_HEALTH_OPTIONS, duplicateThreshold: 0.99 });
  for (const [a, b] of data.duplicatePairs) {
    const group = analysis.nearDuplicates.find((g) => g.indices.includes(a));
    assert.ok(group?.indices.includes(b), `pair ${a}-${b} not grouped`);
    assert.ok(group!.similarity >= 0.99);
  }
  assert.equal(analysis.nearDuplicates.length, data.duplicatePairs.length, 'no other pairs are that similar');
  // Pair (3, 300): subsets 'train' and 'test' (300 % 5 === 0): that copy crosses splits.
  const crossing = analysis.nearDuplicates.find((g) => g.indices.includes(3));
  assert.equal(crossing?.crossesSplits, true);
  assert.equal(analysis.outliers[0]?.index, data.outlier);
});

test('embeddingsReusable: the analysis normalises the caller\'s rows in place and answers as it does on a copy; otherwise it leaves them alone', async () => {
  const data = plantedData(11);
  const original = data.input.embeddings.slice();
  const copied = await analyseHealth(data.input);
  assert.deepEqual(data.input.embeddings, original);
  const reused = await analyseHealth({ ...data.input, embeddings: original.slice(), embeddingsReusable: true });
  assert.deepEqual(
    { issues: reused.labelIssues, groups: reused.nearDuplicates, outliers: reused.outliers, classes: reused.classes, map: reused.map },
    { issues: copied.labelIssues, groups: copied.nearDuplicates, outliers: copied.outliers, classes: copied.classes, map: copied.map },
  );
  const scratch = original.slice();
  await analyseHealth({ ...data.input, embeddings: scratch, embeddingsReusable: true });
  assert.deepEqual(scratch, normaliseRows(original, data.input.dim));
});

test('the same seed gives the same answer; another seed gives other folds', async () => {
  const data = plantedData(11);
  const one = await analyseHealth(data.input);
  const two = await analyseHealth(data.input);
  assert.deepEqual(
    { issues: one.labelIssues, groups: one.nearDuplicates, outliers: one.outliers, classes: one.classes },
    { issues: two.labelIssues, groups: two.nearDuplicates, outliers: two.outliers, classes: two.classes },
  );
  const folds = stratifiedFolds(data.input.labels, 5, 1);
  assert.notDeepEqual(folds, stratifiedFolds(data.input.labels, 5, 2));
  assert.deepEqual(folds, stratifiedFolds(data.input.labels, 5, 1));
  // Every fold gets about a fifth of each class.
  const sizes = [0, 1, 2, 3, 4].map((f) => folds.filter((x) => x === f).length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  void mixSeeds;
});

test('unlabelled images take part in duplicates and outliers only; one class gives no label issues', async () => {
  const data = plantedData(3);
  const labels = Int32Array.from(data.input.labels, (l, i) => (i % 2 ? -1 : l));
  const analysis = await analyseHealth({ ...data.input, labels });
  assert.ok(analysis.labelIssues.every((issue) => labels[issue.index] >= 0));
  const single = await analyseHealth({ ...data.input, labels: Int32Array.from(data.input.labels, () => 0) });
  assert.deepEqual(single.labelIssues, []);
  assert.equal(single.outOfFoldAccuracy, null);
});
