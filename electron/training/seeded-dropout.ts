// Reproducible Dropout. A tfjs Dropout layer draws its mask from an unseeded generator, and giving it a fixed `seed`
// would repeat one mask on every batch. Instead, for the length of one training run, each Dropout layer's training
// call gets the next seed of a stream derived from (run seed, layer name, call number): same seed and same batches,
// same masks; every batch still gets a fresh mask. Only the instance is patched, so saved models keep the standard
// layer (and an identity at inference).
import { tf, type LayersModel, type Tensor } from '../tfjs/tf';
import { mixSeeds } from '../../shared/random';

type Call = (inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];
interface DropoutLike { name: string; rate: number; call: Call; getClassName(): string }

/** Every Dropout layer of `model`, nested models included. */
function dropoutLayers(model: LayersModel): DropoutLike[] {
  const found: DropoutLike[] = [];
  const visit = (layers: LayersModel['layers']) => {
    for (const layer of layers) {
      if (layer.getClassName() === 'Dropout') found.push(layer as unknown as DropoutLike);
      const nested = (layer as unknown as { layers?: LayersModel['layers'] }).layers;
      if (Array.isArray(nested)) visit(nested);
    }
  };
  visit(model.layers);
  return found;
}

/**
 * Seeds the Dropout layers of `model` for one training run; returns a function that puts the layers back. Calls
 * without `training: true` (evaluation, prediction) are untouched.
 */
export function seedDropout(model: LayersModel, seed: number): () => void {
  const restore: Array<() => void> = [];
  for (const layer of dropoutLayers(model)) {
    if (!(layer.rate > 0 && layer.rate < 1)) continue;
    const own = Object.prototype.hasOwnProperty.call(layer, 'call') ? layer.call : undefined;
    const original = layer.call.bind(layer);
    let calls = 0;
    layer.call = (inputs, kwargs) => {
      if (kwargs?.training !== true) return original(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const callSeed = mixSeeds(seed, 'dropout', layer.name, calls++);
      return tf.tidy(() => tf.dropout(x, layer.rate, undefined, callSeed));
    };
    restore.push(() => {
      if (own) layer.call = own;
      else delete (layer as Partial<DropoutLike>).call;
    });
  }
  return () => restore.forEach((undo) => undo());
}
