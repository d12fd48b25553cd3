// One shard of a data-parallel training step: the gradients of rows [offset, offset + n) of a batch of `fullBatch`
// rows, for the loss that the single-thread trainer minimises (the mean over the WHOLE batch), so summing the
// shards' gradients gives the whole batch's gradient. The coordinating thread and every training thread run this
// same function on the same backend and kernels.
import { tf, type LayersModel, type Tensor } from '../../tfjs/tf';
import { mixSeeds } from '../../../shared/random';

type Variable = import('@tensorflow/tfjs').Variable;
type Call = (inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];
interface DropoutLike { name: string; rate: number; call: Call; getClassName(): string }

/** Where the rows a model is about to see sit in the whole batch; set before each forward pass. */
export interface ShardPosition { offset: number; fullBatch: number }

/** Layers that make a shard's forward depend on the other shards' rows; a model with one trains on one thread. */
export function crossBatchLayer(model: LayersModel): string | null {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'BatchNormalization') return layer.name;
    const nested = (layer as unknown as { layers?: LayersModel['layers'] }).layers;
    if (Array.isArray(nested) && nested.some((l) => l.getClassName() === 'BatchNormalization')) return layer.name;
  }
  return null;
}

/**
 * Seeds Dropout like seeded-dropout.ts (seed stream from (run seed, layer name, call number)), but each shard draws
 * the mask of the WHOLE batch and keeps its own rows: a shard sees exactly the mask a one-thread run gives those
 * rows, and the masks do not depend on how the batch is split. The mask is the dense layer's (32 x 128 numbers),
 * so drawing it whole costs nothing measurable. Returns a function that puts the layers back.
 */
export function shardDropout(model: LayersModel, seed: number, position: ShardPosition): () => void {
  const restore: Array<() => void> = [];
  for (const layer of model.layers as unknown as DropoutLike[]) {
    if (layer.getClassName() !== 'Dropout' || !(layer.rate > 0 && layer.rate < 1)) continue;
    const own = Object.prototype.hasOwnProperty.call(layer, 'call') ? layer.call : undefined;
    const original = layer.call.bind(layer);
    let calls = 0;
    layer.call = (inputs, kwargs) => {
      if (kwargs?.training !== true) return original(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const callSeed = mixSeeds(seed, 'dropout', layer.name, calls++);
      return tf.tidy(() => {
        // The same ops as tf.dropout (x * floor(u + keep) / keep), on the whole batch's uniform draws.
        const keep = 1 - layer.rate;
        const whole = [position.fullBatch, ...x.shape.slice(1)];
        const multiplier = tf.div(tf.floor(tf.add(tf.randomUniform(whole, 0, 1, 'float32', callSeed), keep)), keep);
        const rows = tf.slice(multiplier, [position.offset, ...x.shape.slice(1).map(() => 0)], [x.shape[0], ...x.shape.slice(1).map(() => -1)]);
        return tf.mul(x, rows);
      });
    };
    restore.push(() => {
      if (own) layer.call = own;
      else delete (layer as Partial<DropoutLike>).call;
    });
  }
  return () => restore.forEach((undo) => undo());
}

export interface ShardResult {
  /** One per variable, in the variables' order. Caller disposes. */
  grads: Tensor[];
  /** Sum over the shard's rows of (weighted) per-example loss / fullBatch: the shard's share of the batch mean. */
  loss: Tensor;
  correct: Tensor;
}

/** Per-example cross-entropy on logits (trainer.ts's perExampleLoss; repeated to keep this module free of the trainer). */
function perExampleLoss(logits: Tensor, labels: Tensor): Tensor {
  if (logits.shape[1] === 1) return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE).reshape([-1]);
  return tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE);
}

function countCorrect(logits: Tensor, labels: Tensor): Tensor {
  if (logits.shape[1] === 1) return tf.equal(tf.greater(logits, 0), tf.greater(labels, 0.5)).sum();
  return tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)).sum();
}

/** Gradients of this shard's share of the whole batch's mean loss. */
export function shardGradients(
  model: LayersModel, variables: Variable[], xs: Tensor, ys: Tensor, sampleWeights: Tensor | null,
  position: ShardPosition,
): ShardResult {
  let correct: Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply(xs, { training: true }) as Tensor;
    correct = tf.keep(countCorrect(logits, ys));
    const perExample = perExampleLoss(logits, ys);
    // sum / fullBatch: each row's gradient is 1/fullBatch, as under the whole batch's mean().
    return tf.div((sampleWeights ? perExample.mul(sampleWeights) : perExample).sum(), position.fullBatch) as import('@tensorflow/tfjs').Scalar;
  }, variables);
  return { grads: variables.map((v) => grads[v.name]!), loss: value, correct: correct! };
}
