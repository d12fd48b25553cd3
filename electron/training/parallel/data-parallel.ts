// Data-parallel training steps on the WebAssembly backend (issue 16). tfjs's WebAssembly backend runs one kernel at
// a time on one core, so a step uses one core however many the machine has. Here the batch is cut into contiguous
// shards: the trainer's own thread computes shard 0 while each training thread (its own engine and model copy)
// computes one more; the shards' gradients are summed in shard order (a fixed order, so a seed reproduces a run bit
// for bit), the trainer's optimizer takes one step, and the new weights go back to every thread.
//
// Against a one-thread run the result differs only by float summation order: each shard's gradient is the sum over
// its rows, and (rows 0-15) + (rows 16-31) is not the same float sum as rows 0-31 in the kernels' order. Dropout
// masks, augmentation and the loss's 1/batch scaling are the same as on one thread (see shard-step.ts).
import { Worker } from 'node:worker_threads';
import { tf, type LayersModel, type Tensor } from '../../tfjs/tf';
import type { TrainingConfig } from '../../../shared/training-config';
import { shardDropout, shardGradients, type ShardPosition } from './shard-step';
import type { TrainingThreadReply, TrainingThreadRequest } from './protocol';
import { awaitThreadStart, threadScript } from '../thread-start';

type Variable = import('@tensorflow/tfjs').Variable;
type Optimizer = import('@tensorflow/tfjs').Optimizer;

const ENTRY_NAME = 'training-thread-entry';
const START_TIMEOUT_MS = 120_000;
export const MAX_TRAINING_THREADS = 8;

/** One batch, built per shard by row range, so each shard's rows are made where they are needed. */
export interface ShardedBatch {
  size: number;
  inputs(start: number, end: number): Tensor;
  labels(start: number, end: number): Tensor;
  /** Per-row loss weights, or null when rows are weighted equally. */
  sampleWeights: ((start: number, end: number) => Tensor) | null;
}

export interface StepResult {
  /** The whole batch's mean loss (the shards' shares summed in order). */
  loss: number;
  correct: number;
}

/** Row ranges of `shards` nearly equal contiguous shards of `size` rows (fewer shards when rows run out). */
export function shardRanges(size: number, shards: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(shards, size));
  return Array.from({ length: n }, (_, k) => [Math.floor((k * size) / n), Math.floor(((k + 1) * size) / n)] as [number, number]);
}

/** Under tsx (tests, benches) the .ts source through tsx's API (Node 20 does not apply --import hooks in threads). */
class TrainingThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Extract<TrainingThreadReply, { type: 'grads' }>) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  /** Tensors alive in the thread's engine after its last step (for leak checks). */
  tensors = 0;

  constructor(readonly worker: Worker) {
    worker.on('message', (message: TrainingThreadReply) => {
      if (message.type !== 'grads' && message.type !== 'step-failed') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'grads') {
        this.tensors = message.tensors;
        waiter.resolve(message);
      } else waiter.reject(new Error(`a training thread failed: ${message.message}`));
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a training thread stopped (exit code ${code})`)));
  }

  post(message: TrainingThreadRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  step(message: Omit<Extract<TrainingThreadRequest, { type: 'step' }>, 'id' | 'type'>): Promise<Extract<TrainingThreadReply, { type: 'grads' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const transfer = [message.x.buffer, message.y.buffer, ...(message.sampleWeights ? [message.sampleWeights.buffer] : [])] as ArrayBuffer[];
      this.post({ type: 'step', id, ...message }, transfer);
    });
  }

  dispose(): void {
    this.failure ??= new Error('the training thread was disposed');
    void this.worker.terminate();
  }
}

/** A copy of a tensor's values that can be transferred to a thread. */
function valuesOf(t: Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : values.slice();
}

export interface DataParallelOptions {
  config: TrainingConfig;
  numClasses: number;
  /** The trainer's model, built by buildPresetModel(config, numClasses); the threads build the same. */
  model: LayersModel;
  /** Shards per step: the trainer's thread plus threads - 1 training threads. */
  threads: number;
}

export class DataParallelTrainer {
  private readonly position: ShardPosition = { offset: 0, fullBatch: 1 };
  private readonly variables: Variable[];
  private readonly unseedDropout: () => void;
  private disposed = false;

  private constructor(private readonly model: LayersModel, private readonly threads: TrainingThread[], seed: number) {
    this.variables = model.trainableWeights.map((w) => w.read() as Variable);
    this.unseedDropout = shardDropout(model, seed, this.position);
  }

  /**
   * Starts threads - 1 training threads and waits until each has its engine, model and weights; all or none
   * (throws with the reason when one cannot start). Seeds the model's Dropout for sharded steps until dispose().
   */
  static async start(options: DataParallelOptions): Promise<DataParallelTrainer> {
    const count = Math.min(options.threads, MAX_TRAINING_THREADS) - 1;
    if (count < 1) throw new Error('data-parallel training needs at least 2 threads');
    const entry = threadScript(import.meta.url, ENTRY_NAME, 'training thread');
    const weights = options.model.trainableWeights.map((w) => valuesOf(w.read()));
    const started: TrainingThread[] = [];
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(entry.script, { eval: entry.eval, name: `pawprint-training-${i + 1}` });
      started.push(new TrainingThread(worker));
      // Copies per thread: the structured clone copies anyway, and the coordinator keeps none of them.
      const init: TrainingThreadRequest = { type: 'init', config: options.config, numClasses: options.numClasses, weights };
      ready.push(awaitThreadStart(worker, { what: 'a training thread', backend: 'wasm', init, timeoutMs: START_TIMEOUT_MS }));
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      for (const thread of started) thread.dispose();
      throw error;
    }
    return new DataParallelTrainer(options.model, started, options.config.seed);
  }

  /** Shards in use: this thread plus the training threads. */
  get shards(): number {
    return this.threads.length + 1;
  }

  /** Tensors alive in each training thread's engine after its last step. */
  threadTensors(): number[] {
    return this.threads.map((t) => t.tensors);
  }

  /** One optimizer step on the whole batch. */
  async step(batch: ShardedBatch, optimizer: Optimizer): Promise<StepResult> {
    if (this.disposed) throw new Error('the data-parallel trainer was disposed');
    const ranges = shardRanges(batch.size, this.shards);
    // Send the other shards first so the threads work while this thread computes shard 0.
    const remote = ranges.slice(1).map(([start, end], k) => {
      const [x, xShape] = this.take(batch.inputs(start, end));
      const [y, yShape] = this.take(batch.labels(start, end));
      const sampleWeights = batch.sampleWeights ? this.take(batch.sampleWeights(start, end))[0] : null;
      return this.threads[k]!.step({ x, xShape, y, yShape, sampleWeights, offset: start, fullBatch: batch.size });
    });
    // Nothing from this step may be left unhandled if shard 0 throws.
    const settled = Promise.allSettled(remote);

    const [start0, end0] = ranges[0]!;
    this.position.offset = start0;
    this.position.fullBatch = batch.size;
    const xs = batch.inputs(start0, end0);
    const ys = batch.labels(start0, end0);
    const sw = batch.sampleWeights ? batch.sampleWeights(start0, end0) : null;
    let local: ReturnType<typeof shardGradients>;
    try {
      local = shardGradients(this.model, this.variables, xs, ys, sw, this.position);
    } finally {
      tf.dispose([xs, ys, ...(sw ? [sw] : [])]);
    }
    let loss = local.loss.dataSync()[0]!;
    let correct = local.correct.dataSync()[0]!;
    let sums = local.grads;
    tf.dispose([local.loss, local.correct]);
    try {
      const replies = await settled;
      const failed = replies.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason as Error;
      for (const r of replies as Array<PromiseFulfilledResult<Extract<TrainingThreadReply, { type: 'grads' }>>>) {
        // Fixed order: shard 0, then 1, 2, ...
        loss += r.value.loss;
        correct += r.value.correct;
        const next = tf.tidy(() => sums.map((g, i) => tf.add(g, tf.tensor(r.value.grads[i]!, g.shape, 'float32'))));
        tf.dispose(sums);
        sums = next;
      }
      optimizer.applyGradients(this.variables.map((v, i) => ({ name: v.name, tensor: sums[i]! })));
    } finally {
      tf.dispose(sums);
    }
    // The threads take the new weights before their next shard (messages are handled in order).
    for (const thread of this.threads) {
      const values = this.variables.map((v) => valuesOf(v));
      thread.post({ type: 'weights', values }, values.map((a) => a.buffer as ArrayBuffer));
    }
    return { loss, correct };
  }

  private take(t: Tensor): [Float32Array, number[]] {
    try {
      return [valuesOf(t), t.shape];
    } finally {
      t.dispose();
    }
  }

  /** Stops the threads and puts the model's Dropout back. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unseedDropout();
    for (const thread of this.threads) thread.dispose();
  }
}
