// Classification metrics computed from stored per-image probabilities. Pure: no tfjs, no I/O, so the same numbers
// come out of `pawprint eval`, the Evaluate view and the tests, and they can be recomputed from the catalogue.

import { argmax } from '../inference/probabilities';
import type { Calibration, ClassMetrics, EvaluationMetrics, MacroAverages } from '../../shared/contract/runs';

/** Keras' epsilon: probabilities are clipped to [EPS, 1 − EPS] before the log, so a confident miss costs ~16, not ∞. */
export const PROBABILITY_EPSILON = 1e-7;

export interface ScoredExample {
  /** Index of the true class in the run's classNames. */
  trueIndex: number;
  /** One probability per class (a binary model's sigmoid p becomes [1 − p, p]). */
  probabilities: readonly number[];
}

export interface ExampleOutcome {
  trueIndex: number;
  predictedIndex: number;
  /** Probability of the predicted class. */
  confidence: number;
  correct: boolean;
  loss: number;
}

function clip(p: number): number {
  if (!Number.isFinite(p)) return PROBABILITY_EPSILON;
  return Math.min(1 - PROBABILITY_EPSILON, Math.max(PROBABILITY_EPSILON, p));
}

/** Binary cross-entropy of one example from the positive-class probability p and the label y ∈ {0, 1}. */
export function binaryCrossEntropy(p: number, y: 0 | 1): number {
  const q = clip(p);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

/** Categorical cross-entropy of one example: −log p[true], clipped. */
export function categoricalCrossEntropy(probabilities: readonly number[], trueIndex: number): number {
  return -Math.log(clip(probabilities[trueIndex] ?? 0));
}

/**
 * The loss the model was trained with: binary cross-entropy on p[1] for two classes (the sigmoid head),
 * categorical cross-entropy otherwise. For two classes both agree when p[0] + p[1] = 1.
 */
export function exampleLoss(probabilities: readonly number[], trueIndex: number): number {
  if (probabilities.length === 2) return binaryCrossEntropy(probabilities[1]!, trueIndex === 1 ? 1 : 0);
  return categoricalCrossEntropy(probabilities, trueIndex);
}

/** Turns a sigmoid output into the two-class probability vector stored for every prediction. */
export function binaryProbabilities(positive: number): [number, number] {
  return [1 - positive, positive];
}

export function scoreExample(example: ScoredExample): ExampleOutcome {
  const predictedIndex = argmax(example.probabilities);
  return {
    trueIndex: example.trueIndex,
    predictedIndex,
    confidence: example.probabilities[predictedIndex] ?? 0,
    correct: predictedIndex === example.trueIndex,
    loss: exampleLoss(example.probabilities, example.trueIndex),
  };
}

/** matrix[true][predicted] = count. */
export function confusionMatrix(trueIndices: readonly number[], predictedIndices: readonly number[], classCount: number): number[][] {
  if (trueIndices.length !== predictedIndices.length) throw new Error('true and predicted index lists differ in length');
  const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < trueIndices.length; i++) {
    const t = trueIndices[i]!;
    const p = predictedIndices[i]!;
    if (!(t >= 0 && t < classCount && p >= 0 && p < classCount)) {
      throw new Error(`class index out of range at example ${i}: true ${t}, predicted ${p}, ${classCount} classes`);
    }
    matrix[t]![p]!++;
  }
  return matrix;
}

export function perClassMetrics(matrix: readonly (readonly number[])[], classNames: readonly string[]): ClassMetrics[] {
  const k = matrix.length;
  return Array.from({ length: k }, (_, c) => {
    const tp = matrix[c]![c]!;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += matrix[c]![j]!;
      predicted += matrix[j]![c]!;
    }
    const precisionUndefined = predicted === 0;
    const recallUndefined = support === 0;
    const precision = precisionUndefined ? 0 : tp / predicted;
    const recall = recallUndefined ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return {
      className: classNames[c] ?? `class ${c}`,
      support,
      predicted,
      truePositives: tp,
      precision,
      precisionUndefined,
      recall,
      recallUndefined,
      f1,
    };
  });
}

/** Unweighted mean over classes that have examples (a class absent from the data would only add a 0). */
export function macroAverage(metrics: readonly ClassMetrics[]): MacroAverages {
  const present = metrics.filter((m) => m.support > 0);
  if (present.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const mean = (pick: (m: ClassMetrics) => number) => present.reduce((sum, m) => sum + pick(m), 0) / present.length;
  return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
}

/**
 * Reliability diagram with equal-width confidence bins: bin i holds confidences in (i/n, (i+1)/n], the first bin
 * also 0. With two classes the confidence is ≥ 0.5, so the lower half stays empty, as in the usual diagram.
 */
export function calibration(outcomes: readonly Pick<ExampleOutcome, 'confidence' | 'correct'>[], binCount = 10): Calibration {
  if (!Number.isInteger(binCount) || binCount < 1) throw new Error(`bin count must be a positive integer, not ${binCount}`);
  const sums = Array.from({ length: binCount }, () => ({ count: 0, confidence: 0, correct: 0 }));
  for (const outcome of outcomes) {
    const c = Math.min(1, Math.max(0, outcome.confidence));
    const index = Math.min(binCount - 1, Math.max(0, Math.ceil(c * binCount) - 1));
    const bin = sums[index]!;
    bin.count++;
    bin.confidence += c;
    if (outcome.correct) bin.correct++;
  }
  const total = outcomes.length;
  let ece = 0;
  const bins = sums.map((bin, i) => {
    const meanConfidence = bin.count === 0 ? 0 : bin.confidence / bin.count;
    const accuracy = bin.count === 0 ? 0 : bin.correct / bin.count;
    if (total > 0) ece += (bin.count / total) * Math.abs(accuracy - meanConfidence);
    return { lower: i / binCount, upper: (i + 1) / binCount, count: bin.count, meanConfidence, accuracy };
  });
  return { bins, expectedCalibrationError: ece };
}

/** Everything the Evaluate view and `pawprint eval` show, from one list of probabilities. */
export function evaluateExamples(examples: readonly ScoredExample[], classNames: readonly string[], binCount = 10): EvaluationMetrics {
  const k = classNames.length;
  for (const [i, example] of examples.entries()) {
    if (example.probabilities.length !== k) {
      throw new Error(`example ${i} has ${example.probabilities.length} probabilities for ${k} classes`);
    }
  }
  const outcomes = examples.map(scoreExample);
  const matrix = confusionMatrix(
    outcomes.map((o) => o.trueIndex),
    outcomes.map((o) => o.predictedIndex),
    k,
  );
  const perClass = perClassMetrics(matrix, classNames);
  const count = outcomes.length;
  const correct = outcomes.filter((o) => o.correct).length;
  return {
    count,
    accuracy: count === 0 ? 0 : correct / count,
    loss: count === 0 ? 0 : outcomes.reduce((sum, o) => sum + o.loss, 0) / count,
    classNames: [...classNames],
    confusionMatrix: matrix,
    perClass,
    macro: macroAverage(perClass),
    calibration: calibration(outcomes, binCount),
  };
}
