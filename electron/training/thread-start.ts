// Starting a worker thread of the training module (feature extraction, data-parallel training): where its script is,
// and the start handshake (init -> ready with the backend it got, or init-failed), shared by both kinds of thread.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';

/**
 * The script of the thread entry `entryName`, beside the module at `callerUrl` (its import.meta.url): the .ts source
 * through tsx when running from source, else the bundled .js (every *-entry.ts becomes dist/node/<name>.js).
 */
export function threadScript(callerUrl: string, entryName: string, what: string): { script: string | URL; eval: boolean } {
  if (fileURLToPath(callerUrl).endsWith('.ts')) {
    const source = new URL(`./${entryName}.ts`, callerUrl).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    return { script: `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(source)}, ${JSON.stringify(callerUrl)}))`, eval: true };
  }
  const bundled = new URL(`./${entryName}.js`, callerUrl);
  if (!existsSync(fileURLToPath(bundled))) throw new Error(`the ${what} script is missing (${fileURLToPath(bundled)}); run \`npm run build\``);
  return { script: bundled, eval: false };
}

/** The start replies every thread entry sends (other replies of the thread are not looked at here). */
interface StartReply { type: string; backend?: string; message?: string }

/**
 * Sends `init` and waits for the thread's `ready` on `backend`; an `init-failed`, an error, an exit or `timeoutMs`
 * without an answer rejects in words naming `what` ("a training thread").
 */
export function awaitThreadStart(worker: Worker, options: { what: string; backend: string; init: unknown; timeoutMs: number }): Promise<void> {
  const { what, backend, timeoutMs } = options;
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: StartReply) => {
      if (message.type === 'ready') {
        done(message.backend === backend ? undefined : new Error(`${what} got the ${message.backend} backend instead of ${backend}`));
      } else if (message.type === 'init-failed') done(new Error(message.message));
    };
    const onError = (error: Error) => done(error);
    const onExit = (code: number) => done(new Error(`${what} stopped while starting (exit code ${code})`));
    const timer = setTimeout(() => done(new Error(`${what} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(options.init);
  });
}
