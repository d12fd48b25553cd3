// The training worker process: receives one `start` (and maybe a `cancel`), reports backend/progress/epochs/logs,
// sends `done` and exits. Runs under Electron's utilityProcess (process.parentPort) or as a Node child process
// (process.send). tfjs is loaded only through select-backend, which installs the util shim tfjs-node needs first.
import { runTrainingJob } from './job';
import type { WorkerInbound, WorkerOutbound } from './messages';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function send(message: WorkerOutbound): void {
  if (parentPort) parentPort.postMessage(message);
  else if (process.send && process.connected) process.send(message);
}

function onMessage(listener: (message: WorkerInbound) => void): void {
  if (parentPort) parentPort.on('message', (event) => listener(event.data as WorkerInbound));
  else process.on('message', (message) => listener(message as WorkerInbound));
}

const controller = new AbortController();
let started = false;

// Flushes the IPC channel before leaving, so `done` is not lost.
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 50);
}

onMessage((message) => {
  if (message.type === 'cancel') {
    controller.abort();
    if (!started) exitSoon(0);
    return;
  }
  if (message.type !== 'start' || started) return;
  started = true;
  runTrainingJob(message, send, controller.signal)
    .then((done) => {
      send(done);
      exitSoon(0);
    })
    .catch((error: unknown) => {
      send({ type: 'error', message: (error as Error).message });
      exitSoon(1);
    });
});

// A Node child whose parent went away (the app was killed) must not train on alone.
if (!parentPort) process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => {
  send({ type: 'error', message: `uncaught error in the training process: ${error.message}` });
  exitSoon(1);
});
// Ctrl+C in a terminal reaches the whole process group: the parent turns it into a `cancel`, so the worker must not
// die of it (the run would be recorded as crashed instead of cancelled).
process.on('SIGINT', () => undefined);
