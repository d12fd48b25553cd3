// Model-assisted labelling from the embeddings (issue 15 item 4): unlabelled images get the class of their nearest
// labelled neighbours, and the list is ordered least certain first (smallest vote margin) for active learning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseHealth, DEFAULT_HEALTH_OPTIONS, loopEngine, neighbourSuggestions, normaliseRows, type MatrixEngine,
} from '../../../electron/health/analysis';
import { mulberry32 } from '../../../shared/random';

const DIM = 16;

/** Rows near class centres e0 (class 0) and e1 (class 1), plus `mixes`: rows between the two at the given share of class 1. */
function embeddings(perClass: number, mixes: number[], seed = 3) {
  const rng = mulberry32(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  const noisy = (centre: number[]) => centre.map((v) => v + (rng() - 0.5) * 0.04);
  const centre = (share: number) => Array.from({ length: DIM }, (_, k) => (k === 0 ? 1 - share : k === 1 ? share : 0));
  for (let c = 0; c < 2; c++) for (let i = 0; i < perClass; i++) { rows.push(noisy(centre(c))); labels.push(c); }
  for (const share of mixes) { rows.push(noisy(centre(share))); labels.push(-1); }
  return { x: normaliseRows(Float32Array.from(rows.flat()), DIM), labels: Int32Array.from(labels), firstUnlabelled: 2 * perClass };
}

test('unlabelled images are suggested their neighbours\' class, least certain (smallest margin) first', () => {
  // Clearly class 0, clearly class 1, and one halfway between: the halfway one must come first.
  const { x, labels, firstUnlabelled } = embeddings(20, [0.05, 0.95, 0.5]);
  const suggestions = neighbourSuggestions(x, DIM, labels, 2, 10);
  assert.equal(suggestions.length, 3);
  assert.equal(suggestions[0]!.index, firstUnlabelled + 2, 'the image between the classes is the least certain');
  const byIndex = new Map(suggestions.map((s) => [s.index, s]));
  assert.equal(byIndex.get(firstUnlabelled)!.suggested, 0);
  assert.equal(byIndex.get(firstUnlabelled + 1)!.suggested, 1);
  assert.ok(byIndex.get(firstUnlabelled)!.margin > 0.9 && byIndex.get(firstUnlabelled)!.confidence > 0.95);
  for (let i = 1; i < suggestions.length; i++) assert.ok(suggestions[i - 1]!.margin <= suggestions[i]!.margin, 'sorted by margin');
  for (const s of suggestions) assert.ok(Math.abs(s.confidence - s.margin - (1 - s.confidence)) < 1e-9, 'two classes: margin = 2 confidence - 1');
});

test('margins order a sweep from one class to the other: the middle first, the ends last', () => {
  const shares = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  const { x, labels, firstUnlabelled } = embeddings(30, shares, 11);
  const order = neighbourSuggestions(x, DIM, labels, 2, 15).map((s) => shares[s.index - firstUnlabelled]!);
  assert.ok(Math.abs(order[0]! - 0.5) <= 0.1, `most uncertain near the middle: ${order.join(', ')}`);
  assert.ok([0, 1].includes(order.at(-1)!) || [0.1, 0.9].includes(order.at(-1)!), `most certain at an end: ${order.join(', ')}`);
});

test('the health analysis carries suggestions only for unlabelled images, and none without two labelled classes', async () => {
  const { x, labels, firstUnlabelled } = embeddings(10, [0.1, 0.9]);
  const analysis = await analyseHealth({ embeddings: x, dim: DIM, labels, classNames: ['a', 'b'], subsets: Array(labels.length).fill(null) }, { ...DEFAULT_HEALTH_OPTIONS, folds: 2 });
  assert.deepEqual(analysis.suggestions.map((s) => s.index).sort(), [firstUnlabelled, firstUnlabelled + 1]);
  const oneClass = Int32Array.from(labels, (l) => (l === 1 ? -1 : l));
  const none = await analyseHealth({ embeddings: x, dim: DIM, labels: oneClass, classNames: ['a', 'b'], subsets: Array(labels.length).fill(null) }, { ...DEFAULT_HEALTH_OPTIONS, folds: 2 });
  assert.deepEqual(none.suggestions, []);
  const allLabelled = Int32Array.from(labels, (l, i) => (l < 0 ? i % 2 : l));
  assert.deepEqual(neighbourSuggestions(x, DIM, allLabelled, 2), []);
});

test('the analysis takes its suggestions from the neighbour scan\'s similarities: no product work beyond an all-labelled analysis', async () => {
  // Multiply-adds of every product the analysis asks of the engine.
  let work = 0;
  const counting: MatrixEngine = {
    name: 'counting',
    hold(values, rows, cols) {
      const held = loopEngine.hold(values, rows, cols);
      return {
        timesTransposed: (b, bRows) => ((work += rows * bRows * cols), held.timesTransposed(b, bRows)),
        transposedTimes: (p, k) => ((work += rows * k * cols), held.transposedTimes(p, k)),
        selfProduct: (r0, r1, c0) => ((work += (r1 - r0) * (rows - c0) * cols), held.selfProduct(r0, r1, c0)),
        dispose: () => held.dispose(),
      };
    },
  };
  const { x, labels } = embeddings(20, [0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95], 5);
  const input = { embeddings: x, dim: DIM, labels, classNames: ['a', 'b'], subsets: Array(labels.length).fill(null) };
  const options = { ...DEFAULT_HEALTH_OPTIONS, folds: 2 };
  const withUnlabelled = await analyseHealth(input, options, undefined, undefined, counting);
  const workWithUnlabelled = work;
  work = 0;
  const allLabelled = Int32Array.from(labels, (l, i) => (l < 0 ? i % 2 : l));
  const none = await analyseHealth({ ...input, labels: allLabelled }, options, undefined, undefined, counting);
  assert.deepEqual(none.suggestions, []);
  assert.equal(workWithUnlabelled, work, `products with suggestions ${workWithUnlabelled} vs without ${work} multiply-adds`);
  // And they are the suggestions of the standalone computation, in the same order.
  const alone = neighbourSuggestions(x, DIM, labels, 2, options.neighbours);
  assert.equal(withUnlabelled.suggestions.length, 7);
  assert.deepEqual(withUnlabelled.suggestions.map((s) => [s.index, s.suggested]), alone.map((s) => [s.index, s.suggested]));
  withUnlabelled.suggestions.forEach((s, i) => assert.ok(Math.abs(s.confidence - alone[i]!.confidence) < 1e-9 && Math.abs(s.margin - alone[i]!.margin) < 1e-9));
});
