import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROBABILITY_EPSILON,
  binaryCrossEntropy,
  calibration,
  categoricalCrossEntropy,
  confusionMatrix,
  evaluateExamples,
  exampleLoss,
  macroAverage,
  perClassMetrics,
  scoreExample,
} from '../../../electron/evaluation/metrics';
import { argmax } from '../../../electron/inference/probabilities';

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`);

describe('confusion matrix and per-class metrics', () => {
  // Seven examples, three classes; "bird" is never predicted.
  //            predicted: cat dog bird
  //   true cat            2   1   0
  //   true dog            1   1   0
  //   true bird           1   1   0
  const classNames = ['cat', 'dog', 'bird'];
  const examples = [
    { trueIndex: 0, probabilities: [0.8, 0.1, 0.1] },
    { trueIndex: 0, probabilities: [0.6, 0.3, 0.1] },
    { trueIndex: 0, probabilities: [0.2, 0.7, 0.1] },
    { trueIndex: 1, probabilities: [0.1, 0.5, 0.4] },
    { trueIndex: 1, probabilities: [0.5, 0.4, 0.1] },
    { trueIndex: 2, probabilities: [0.6, 0.2, 0.2] },
    { trueIndex: 2, probabilities: [0.3, 0.4, 0.3] },
  ];

  test('matrix rows are true classes, columns predicted', () => {
    const outcomes = examples.map(scoreExample);
    const matrix = confusionMatrix(outcomes.map((o) => o.trueIndex), outcomes.map((o) => o.predictedIndex), 3);
    assert.deepEqual(matrix, [
      [2, 1, 0],
      [1, 1, 0],
      [1, 1, 0],
    ]);
  });

  test('precision, recall and F1 match the hand computation, and a never-predicted class is flagged, not NaN', () => {
    const metrics = perClassMetrics([[2, 1, 0], [1, 1, 0], [1, 1, 0]], classNames);
    const [cat, dog, bird] = metrics;
    close(cat!.precision, 2 / 4);
    close(cat!.recall, 2 / 3);
    close(cat!.f1, 4 / 7);
    assert.equal(cat!.support, 3);
    assert.equal(cat!.predicted, 4);
    close(dog!.precision, 1 / 3);
    close(dog!.recall, 1 / 2);
    close(dog!.f1, 0.4);
    assert.equal(bird!.precision, 0);
    assert.equal(bird!.precisionUndefined, true);
    assert.equal(bird!.recall, 0);
    assert.equal(bird!.recallUndefined, false);
    assert.equal(bird!.f1, 0);
    assert.equal(cat!.precisionUndefined, false);
    for (const m of metrics) for (const v of [m.precision, m.recall, m.f1]) assert.ok(Number.isFinite(v));
    const macro = macroAverage(metrics);
    close(macro.precision, (0.5 + 1 / 3 + 0) / 3);
    close(macro.recall, (2 / 3 + 0.5 + 0) / 3);
  });

  test('a class with no examples has recall flagged and is left out of macro averages', () => {
    const metrics = perClassMetrics([[3, 1, 0], [0, 2, 0], [0, 0, 0]], ['a', 'b', 'c']);
    assert.equal(metrics[2]!.recallUndefined, true);
    assert.equal(metrics[2]!.precisionUndefined, true);
    const macro = macroAverage(metrics);
    close(macro.recall, (3 / 4 + 1) / 2);
    close(macro.precision, (1 + 2 / 3) / 2);
  });

  test('evaluateExamples: accuracy, mean cross-entropy and the same matrix', () => {
    const result = evaluateExamples(examples, classNames);
    assert.equal(result.count, 7);
    close(result.accuracy, 3 / 7);
    const expectedLoss = -(Math.log(0.8) + Math.log(0.6) + Math.log(0.2) + Math.log(0.5) + Math.log(0.4) + Math.log(0.2) + Math.log(0.3)) / 7;
    close(result.loss, expectedLoss);
    assert.deepEqual(result.confusionMatrix, [[2, 1, 0], [1, 1, 0], [1, 1, 0]]);
    assert.equal(result.perClass[2]!.precisionUndefined, true);
  });

  test('rejects probability vectors of the wrong length and out-of-range indices', () => {
    assert.throws(() => evaluateExamples([{ trueIndex: 0, probabilities: [0.5, 0.5] }], classNames), /2 probabilities for 3 classes/);
    assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /out of range/);
  });
});

describe('binary cross-entropy', () => {
  test('hand-computed values, and equal to categorical cross-entropy on [1 − p, p]', () => {
    close(binaryCrossEntropy(0.9, 1), -Math.log(0.9));
    close(binaryCrossEntropy(0.9, 0), -Math.log(0.1));
    close(exampleLoss([0.25, 0.75], 1), -Math.log(0.75));
    close(exampleLoss([0.25, 0.75], 0), -Math.log(0.25));
    close(categoricalCrossEntropy([0.25, 0.75], 0), exampleLoss([0.25, 0.75], 0));
  });

  test('probabilities of exactly 0 or 1 are clipped, so a confident miss costs a finite −log ε', () => {
    close(binaryCrossEntropy(0, 1), -Math.log(PROBABILITY_EPSILON));
    close(categoricalCrossEntropy([1, 0, 0], 2), -Math.log(PROBABILITY_EPSILON));
    assert.ok(binaryCrossEntropy(1, 1) < 1e-6);
  });

  test('a two-class evaluation: matrix, accuracy and loss', () => {
    // p(dog) for cats [0.1, 0.6] and dogs [0.7, 0.4, 0.95]
    const examples = [
      { trueIndex: 0, probabilities: [0.9, 0.1] },
      { trueIndex: 0, probabilities: [0.4, 0.6] },
      { trueIndex: 1, probabilities: [0.3, 0.7] },
      { trueIndex: 1, probabilities: [0.6, 0.4] },
      { trueIndex: 1, probabilities: [0.05, 0.95] },
    ];
    const result = evaluateExamples(examples, ['cats', 'dogs']);
    assert.deepEqual(result.confusionMatrix, [[1, 1], [1, 2]]);
    close(result.accuracy, 3 / 5);
    close(result.loss, -(Math.log(0.9) + Math.log(0.4) + Math.log(0.7) + Math.log(0.4) + Math.log(0.95)) / 5);
    close(result.perClass[1]!.precision, 2 / 3);
    close(result.perClass[1]!.recall, 2 / 3);
  });
});

describe('calibration', () => {
  test('bins and expected calibration error by hand', () => {
    // Confidences 0.55 (right), 0.58 (wrong) → bin (0.5, 0.6]; 0.95 (right), 1.0 (right) → bin (0.9, 1.0].
    const result = calibration(
      [
        { confidence: 0.55, correct: true },
        { confidence: 0.58, correct: false },
        { confidence: 0.95, correct: true },
        { confidence: 1.0, correct: true },
      ],
      10,
    );
    assert.equal(result.bins.length, 10);
    const mid = result.bins[5]!;
    assert.equal(mid.count, 2);
    close(mid.lower, 0.5);
    close(mid.meanConfidence, 0.565);
    close(mid.accuracy, 0.5);
    const top = result.bins[9]!;
    assert.equal(top.count, 2);
    close(top.meanConfidence, 0.975);
    close(top.accuracy, 1);
    assert.equal(result.bins.filter((bin) => bin.count > 0).length, 2);
    close(result.expectedCalibrationError, 0.5 * 0.065 + 0.5 * 0.025);
  });

  test('confidence on a bin edge goes to the lower bin; zero goes to the first; empty input has ECE 0', () => {
    const result = calibration([{ confidence: 0.5, correct: true }, { confidence: 0, correct: false }], 10);
    assert.equal(result.bins[4]!.count, 1);
    assert.equal(result.bins[0]!.count, 1);
    assert.equal(calibration([], 5).expectedCalibrationError, 0);
  });
});

describe('argmax', () => {
  test('argmax breaks ties toward the lowest index', () => {
    assert.equal(argmax([0.5, 0.5]), 0);
    assert.equal(argmax([0.1, 0.3, 0.3]), 1);
  });
});
