// One training thread (worker_threads): its own TensorFlow.js engine and WebAssembly backend hold a copy of the
// model and compute the gradients of the batch rows the trainer sends; the trainer sums them and steps the
// optimizer, then sends the new weights. See data-parallel.ts.
import { parentPort } from 'node:worker_threads';
import { tf, type LayersModel } from '../../tfjs/tf';
import { selectBackend } from '../../tfjs/backend/select-backend';
import { buildPresetModel } from '../presets';
import { shardDropout, shardGradients, type ShardPosition } from './shard-step';
import type { TrainingThreadReply, TrainingThreadRequest } from './protocol';

type Variable = import('@tensorflow/tfjs').Variable;

if (!parentPort) throw new Error('training-thread-entry must run in a worker thread');
const port = parentPort;
let model: LayersModel | undefined;
let variables: Variable[] = [];
const position: ShardPosition = { offset: 0, fullBatch: 1 };
// A failed weight update is reported on the next step (weights messages get no reply).
let weightsError: string | null = null;

const reply = (message: TrainingThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function setWeights(values: Float32Array[]): void {
  if (values.length !== variables.length) throw new Error(`expected ${variables.length} weight arrays, got ${values.length}`);
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(values[i]!, v.shape, 'float32'))));
}

/** Only a buffer of its own can be transferred (never a view into the WebAssembly heap). */
function ownBuffer(values: Float32Array): Float32Array {
  return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : values.slice();
}

async function handle(message: TrainingThreadRequest): Promise<void> {
  if (message.type === 'init') {
    try {
      const backend = await selectBackend('wasm');
      model = buildPresetModel(message.config, message.numClasses);
      variables = model.trainableWeights.map((w) => w.read() as Variable);
      setWeights(message.weights);
      shardDropout(model, message.config.seed, position);
      reply({ type: 'ready', backend: backend.name });
    } catch (error) {
      reply({ type: 'init-failed', message: (error as Error).message });
    }
    return;
  }
  if (message.type === 'weights') {
    try {
      setWeights(message.values);
    } catch (error) {
      weightsError = (error as Error).message;
    }
    return;
  }
  try {
    if (!model) throw new Error('the training thread was not initialised');
    if (weightsError) throw new Error(`the training thread could not take the new weights: ${weightsError}`);
    position.offset = message.offset;
    position.fullBatch = message.fullBatch;
    const xs = tf.tensor(message.x, message.xShape, 'float32');
    const ys = tf.tensor(message.y, message.yShape, 'float32');
    const sw = message.sampleWeights ? tf.tensor1d(message.sampleWeights, 'float32') : null;
    let grads: Float32Array[];
    let loss: number;
    let correct: number;
    try {
      const result = shardGradients(model, variables, xs, ys, sw, position);
      grads = result.grads.map((g) => ownBuffer(g.dataSync() as Float32Array));
      loss = result.loss.dataSync()[0]!;
      correct = result.correct.dataSync()[0]!;
      tf.dispose([...result.grads, result.loss, result.correct]);
    } finally {
      tf.dispose([xs, ys, ...(sw ? [sw] : [])]);
    }
    reply({ type: 'grads', id: message.id, grads, loss, correct, tensors: tf.memory().numTensors }, grads.map((g) => g.buffer as ArrayBuffer));
  } catch (error) {
    reply({ type: 'step-failed', id: message.id, message: (error as Error).message });
  }
}

// One message at a time, in order: a weights message is applied before the next step's shard.
let queue = Promise.resolve();
port.on('message', (message: TrainingThreadRequest) => {
  queue = queue.then(() => handle(message));
});
