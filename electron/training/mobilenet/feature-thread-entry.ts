// One feature-extraction thread (worker_threads): its own TensorFlow.js engine and WebAssembly backend run the
// folded MobileNetV2 base on the batches the training worker sends. WebAssembly here is single-threaded, so
// extraction (and fine-tuning's frozen bottom) spreads batches over several of these to use more than one core.
// See feature-threads.ts.
import { parentPort } from 'node:worker_threads';
import { selectBackend } from '../../tfjs/backend/select-backend';
import { MobileNetFeatureExtractor } from './feature-extractor';
import type { FeatureThreadReply, FeatureThreadRequest } from './feature-threads';
import { applyViews } from './view-augment';

if (!parentPort) throw new Error('feature-thread-entry must run in a worker thread');
const port = parentPort;
let extractor: MobileNetFeatureExtractor | undefined;

const reply = (message: FeatureThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function handle(message: FeatureThreadRequest): Promise<void> {
  if (message.type === 'init') {
    try {
      const backend = await selectBackend(message.backend);
      extractor = MobileNetFeatureExtractor.create(message.weights, { imageSize: message.imageSize });
      reply({ type: 'ready', backend: backend.name });
    } catch (error) {
      reply({ type: 'init-failed', message: (error as Error).message });
    }
    return;
  }
  try {
    if (!extractor) throw new Error('the feature thread was not initialised');
    if (message.views) applyViews(message.pixels, message.views);
    let features = message.bottomBlocks === undefined
      ? await extractor.embed(message.pixels, message.count)
      : await extractor.bottom(message.pixels, message.count, message.bottomBlocks);
    // Only a buffer of its own can be transferred (never a view into the WebAssembly heap).
    if (features.byteOffset !== 0 || features.byteLength !== features.buffer.byteLength) features = features.slice();
    reply({ type: 'embedded', id: message.id, features }, [features.buffer as ArrayBuffer]);
  } catch (error) {
    reply({ type: 'embed-failed', id: message.id, message: (error as Error).message });
  }
}

// Requests are handled one at a time, in order: the parent keeps at most one batch in flight per thread.
let queue = Promise.resolve();
port.on('message', (message: FeatureThreadRequest) => {
  queue = queue.then(() => handle(message));
});
