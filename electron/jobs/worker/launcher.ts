// Starts the training worker process: Electron's utilityProcess inside the desktop app (the run-as-node fuse stays
// off, so the Electron binary cannot be forked as Node), a Node child process in the browser host, the CLI and tests.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isWorkerOutbound, type WorkerInbound, type WorkerOutbound } from '../../training/worker/messages';

export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** Last lines the worker wrote to stderr (a stack trace when it crashed). */
  stderrTail: string;
}

export interface WorkerHandle {
  readonly pid: number | undefined;
  readonly kind: 'utility' | 'child';
  send(message: WorkerInbound): void;
  onMessage(listener: (message: WorkerOutbound) => void): void;
  /** Called once, whatever the reason the process ended. */
  onExit(listener: (exit: WorkerExit) => void): void;
  kill(): void;
}

const ENTRY_NAME = 'training-worker-entry';

/**
 * The worker script: the .ts source in electron/training/worker/ under tsx (tests, scripts), the bundled .js from
 * dist/ (the bundle puts every *-entry.ts beside main.js).
 */
export function workerEntry(): { path: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { path: fileURLToPath(new URL(`../../training/worker/${ENTRY_NAME}.ts`, import.meta.url)), execArgv: ['--import', 'tsx'] };
  }
  const bundled = fileURLToPath(new URL(`./${ENTRY_NAME}.js`, import.meta.url));
  if (!existsSync(bundled)) throw new Error(`the training worker is missing (${bundled}); run \`npm run build\``);
  return { path: bundled, execArgv: [] };
}

class TailBuffer {
  private text = '';
  constructor(private readonly max = 4000) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text.trim();
  }
}

/**
 * Both kinds of worker: mirrors its stderr to ours, keeping the last lines, and reports the exit once to every
 * listener, after stderr has drained (its last lines are usually the stack trace that explains the exit).
 */
class WorkerOutput {
  readonly tail = new TailBuffer();
  private exited: WorkerExit | null = null;
  private readonly listeners: Array<(exit: WorkerExit) => void> = [];

  constructor(private readonly stderr: NodeJS.ReadableStream | null | undefined) {
    stderr?.setEncoding('utf8');
    stderr?.on('data', (chunk: string) => {
      this.tail.push(chunk);
      process.stderr.write(chunk);
    });
  }

  exit(code: number | null, signal: string | null): void {
    const finish = () => {
      if (this.exited) return;
      this.exited = { code, signal, stderrTail: this.tail.toString() };
      for (const listener of this.listeners) listener(this.exited);
    };
    const stderr = this.stderr as (NodeJS.ReadableStream & { readableEnded?: boolean }) | null | undefined;
    if (stderr && !stderr.readableEnded) {
      stderr.once('end', finish);
      setTimeout(finish, 200).unref();
    } else finish();
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    if (this.exited) listener(this.exited);
    else this.listeners.push(listener);
  }
}

/** A worker process whose messages are handed on unchecked (the job pool validates them with the protocol schemas). */
export interface RawWorkerHandle {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (exit: WorkerExit) => void): void;
  kill(): void;
}

const JOB_ENTRY_NAME = 'job-worker-entry';

/** The job worker script; PAWPRINT_WORKER_ENTRY names another one (tests run a fake entry in a real process). */
export function jobWorkerEntry(): { path: string; execArgv: string[] } {
  const override = process.env.PAWPRINT_WORKER_ENTRY;
  const here = fileURLToPath(import.meta.url);
  if (override) return { path: override, execArgv: override.endsWith('.ts') ? ['--import', 'tsx'] : [] };
  if (here.endsWith('.ts')) return { path: fileURLToPath(new URL(`./${JOB_ENTRY_NAME}.ts`, import.meta.url)), execArgv: ['--import', 'tsx'] };
  const bundled = fileURLToPath(new URL(`./${JOB_ENTRY_NAME}.js`, import.meta.url));
  if (!existsSync(bundled)) throw new Error(`the job worker is missing (${bundled}); run \`npm run build\``);
  return { path: bundled, execArgv: [] };
}

/** Launches one job worker: a utilityProcess inside the desktop app, a Node child elsewhere. */
export async function launchJobWorker(name: string): Promise<RawWorkerHandle> {
  const entry = jobWorkerEntry();
  const accept = () => true;
  return process.versions.electron ? utilityWorker(entry, accept, name) : childWorker(entry, accept);
}

/** `accept` filters the messages handed on: the old training worker's by isWorkerOutbound, the job worker's all (the pool validates them). */
function childWorker(entry = workerEntry(), accept: (message: unknown) => boolean = isWorkerOutbound): WorkerHandle & RawWorkerHandle {
  const child: ChildProcess = fork(entry.path, [], {
    execArgv: entry.execArgv,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const output = new WorkerOutput(child.stderr);
  child.on('exit', (code, signal) => output.exit(code, signal));
  child.on('error', (error) => output.tail.push(`\n${error.message}`));
  return {
    pid: child.pid,
    kind: 'child',
    send(message: unknown) {
      if (child.connected) child.send(message as WorkerInbound);
    },
    onMessage(listener: (message: never) => void) {
      child.on('message', (message) => {
        if (accept(message)) listener(message as never);
      });
    },
    onExit: (listener) => output.onExit(listener),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function utilityWorker(
  entry = workerEntry(),
  accept: (message: unknown) => boolean = isWorkerOutbound,
  name = 'Pawprint training',
): Promise<WorkerHandle & RawWorkerHandle> {
  // Lazy: electron exists only inside the desktop app.
  const { utilityProcess } = await import('electron');
  const child = utilityProcess.fork(entry.path, [], { serviceName: name, stdio: ['ignore', 'inherit', 'pipe'] });
  const output = new WorkerOutput(child.stderr);
  let alive = true;
  child.on('exit', (code) => {
    alive = false;
    output.exit(code, null);
  });
  // pid is known once the process has spawned.
  await new Promise<void>((resolve) => {
    if (child.pid !== undefined) resolve();
    else child.once('spawn', () => resolve());
  });
  return {
    get pid() {
      return child.pid;
    },
    kind: 'utility',
    send(message: unknown) {
      if (alive) child.postMessage(message);
    },
    onMessage(listener: (message: never) => void) {
      child.on('message', (message: unknown) => {
        if (accept(message)) listener(message as never);
      });
    },
    onExit: (listener) => output.onExit(listener),
    kill() {
      if (alive) child.kill();
    },
  };
}

/** Launches one training worker (one per run). */
export async function launchTrainingWorker(): Promise<WorkerHandle> {
  return process.versions.electron ? utilityWorker() : childWorker();
}

/** Words for the run's error when the worker ended without reporting. */
export function describeUnexpectedExit(exit: WorkerExit): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
  const lastLine = exit.stderrTail.split('\n').filter((line) => line.trim()).slice(-3).join(' | ');
  const hint = exit.signal === 'SIGKILL' || exit.code === 137
    ? ' (killed, possibly by the system running out of memory; try a smaller batch size or image size)'
    : '';
  return `training process exited unexpectedly (${how})${hint}${lastLine ? `: ${lastLine.slice(0, 500)}` : ''}`;
}
