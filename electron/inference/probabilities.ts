// Model outputs as class probabilities. Pure (no tfjs): inference, evaluation and the tests share one definition of
// how a logit row becomes probabilities and which class wins.

/** Index of the largest probability; ties go to the lowest index (as tf.argMax does). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Turns one output row into class probabilities in classNames order. */
export function toProbabilities(row: ArrayLike<number>, output: 'logits' | 'probabilities'): number[] {
  if (row.length === 1) {
    const p = output === 'logits' ? sigmoid(row[0]!) : row[0]!;
    return [1 - p, p];
  }
  if (output === 'probabilities') return Array.from(row);
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  const exps = Array.from(row, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
