// One thread of bench/generate-photos.ts: renders and writes the batches of photos it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { writePhotos, type GenerateReply, type GenerateRequest, type GenerateWorkerData } from './generate-photos';

const data = workerData as GenerateWorkerData;
const port = parentPort!;
port.on('message', (request: GenerateRequest) => {
  if (request.type === 'stop') {
    port.close();
    return;
  }
  writePhotos(data, request.from, request.to).then(
    (bytes) => port.postMessage({ type: 'done', from: request.from, to: request.to, bytes } satisfies GenerateReply),
    (error: unknown) => port.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies GenerateReply),
  );
});
