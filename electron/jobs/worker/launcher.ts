// Starts a job worker process (job-worker-entry): Electron's utilityProcess inside the desktop app (the run-as-node
// fuse stays off, so the Electron binary cannot be forked as Node), a Node child process in the browser host, the CLI
// and tests. Messages are handed on unchecked: the pool (pool.ts) validates them with the protocol schemas.
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** Last lines the worker wrote to stderr (a stack trace when it crashed). */
  stderrTail: string;
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
  /** utilityProcess inside Electron, a Node child elsewhere. */
  readonly kind: 'utility' | 'child';
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
  return process.versions.electron ? utilityWorker(entry, name) : childWorker(entry);
}

function childWorker(entry: { path: string; execArgv: string[] }): RawWorkerHandle {
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
      if (child.connected) child.send(message as Serializable);
    },
    onMessage(listener: (message: unknown) => void) {
      child.on('message', (message) => listener(message));
    },
    onExit: (listener) => output.onExit(listener),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function utilityWorker(entry: { path: string; execArgv: string[] }, name: string): Promise<RawWorkerHandle> {
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
    onMessage(listener: (message: unknown) => void) {
      child.on('message', (message: unknown) => listener(message));
    },
    onExit: (listener) => output.onExit(listener),
    kill() {
      if (alive) child.kill();
    },
  };
}
