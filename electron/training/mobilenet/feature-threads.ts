// Feature extraction on several cores. TensorFlow.js's WebAssembly backend runs single-threaded in Node, so one
// process computes base features on one core; extraction instead starts a few worker threads, each with its own
// engine and a copy of the folded base, and hands them batches (extractFeatures's `startThreads`, and fine-tuning's
// frozen-bottom maps). The training worker's own thread then only decodes, caches and reports progress; a batch's
// augmented views are made by the thread that embeds it (view-augment.ts).
// Same backend, same kernels, same weights: a view's features do not depend on which thread computed them (tested).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BaseWeights } from './base-weights';
import { awaitThreadStart, threadScript } from '../thread-start';
import type { ViewAugmentation } from './view-augment';

/** What extraction needs from a thread or from the in-process extractor. */
export interface FeatureEmbedder {
  /** Pooled features (MobileNetFeatureExtractor.embed); with `views`, of the rows' augmented views (applyViews). */
  embed(pixels: Uint8Array | Uint8ClampedArray, count: number, views?: ViewAugmentation): Promise<Float32Array>;
  /** The frozen bottom's maps for fine-tuning (MobileNetFeatureExtractor.bottom). */
  bottom(pixels: Uint8Array | Uint8ClampedArray, count: number, blocks: number): Promise<Float32Array>;
  dispose(): void;
}

export type FeatureThreadRequest =
  | { type: 'init'; weights: BaseWeights; imageSize: number; backend: 'wasm' | 'cpu' }
  /** Pooled features, or with bottomBlocks the map after that many blocks. */
  | { type: 'embed'; id: number; pixels: Uint8Array; count: number; bottomBlocks?: number; views?: ViewAugmentation };

export type FeatureThreadReply =
  | { type: 'ready'; backend: string }
  | { type: 'init-failed'; message: string }
  | { type: 'embedded'; id: number; features: Float32Array }
  | { type: 'embed-failed'; id: number; message: string };

const ENTRY_NAME = 'feature-thread-entry';
const MAX_THREADS = 4;
const START_TIMEOUT_MS = 120_000;

/**
 * Threads to use: PAWPRINT_FEATURE_THREADS when set (1 = extract in the training process itself), else one per
 * core up to MAX_THREADS (each holds its own engine, WebAssembly heap and copy of the base).
 */
export function defaultFeatureThreads(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.PAWPRINT_FEATURE_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return Math.min(fromEnv, 16);
  return Math.max(1, Math.min(os.availableParallelism(), MAX_THREADS));
}

/**
 * How to start a thread: the bundled script from dist/, or under tsx (tests, benches) the .ts source through tsx's
 * API, because Node 20 does not apply `--import tsx` loader hooks inside worker threads.
 */
class FeatureThread implements FeatureEmbedder {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (f: Float32Array) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (message: FeatureThreadReply) => {
      if (message.type !== 'embedded' && message.type !== 'embed-failed') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'embedded') waiter.resolve(message.features);
      else waiter.reject(new Error(message.message));
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a feature extraction thread stopped (exit code ${code})`)));
  }

  embed(pixels: Uint8Array | Uint8ClampedArray, count: number, views?: ViewAugmentation): Promise<Float32Array> {
    return this.request(pixels, count, undefined, views);
  }

  bottom(pixels: Uint8Array | Uint8ClampedArray, count: number, blocks: number): Promise<Float32Array> {
    return this.request(pixels, count, blocks);
  }

  private request(pixels: Uint8Array | Uint8ClampedArray, count: number, bottomBlocks?: number, views?: ViewAugmentation): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // A copy the thread can own: the caller's buffer may be a view into something larger.
    const own = new Uint8Array(pixels);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: FeatureThreadRequest = { type: 'embed', id, pixels: own, count, ...(bottomBlocks === undefined ? {} : { bottomBlocks }), ...(views ? { views } : {}) };
      this.worker.postMessage(request, [own.buffer]);
    });
  }

  dispose(): void {
    this.failure ??= new Error('the feature extraction thread was disposed');
    void this.worker.terminate();
  }
}

export interface StartFeatureThreadsOptions {
  weights: BaseWeights;
  imageSize: number;
  /** The backend the training process chose; threads use the same one (never native TensorFlow, see callers). */
  backend: 'wasm' | 'cpu';
  threads: number;
}

/** Starts `threads` feature threads and waits until each has its backend and base ready; all or none. */
export async function startFeatureThreads(opts: StartFeatureThreadsOptions): Promise<FeatureEmbedder[]> {
  const entry = threadScript(import.meta.url, ENTRY_NAME, 'feature thread');
  const started: FeatureThread[] = [];
  const ready: Array<Promise<void>> = [];
  for (let i = 0; i < opts.threads; i++) {
    const worker = new Worker(entry.script, { eval: entry.eval, name: `pawprint-features-${i + 1}` });
    started.push(new FeatureThread(worker));
    const init: FeatureThreadRequest = { type: 'init', weights: opts.weights, imageSize: opts.imageSize, backend: opts.backend };
    ready.push(awaitThreadStart(worker, { what: 'a feature thread', backend: opts.backend, init, timeoutMs: START_TIMEOUT_MS }));
  }
  try {
    await Promise.all(ready);
    return started;
  } catch (error) {
    for (const thread of started) thread.dispose();
    throw error;
  }
}
