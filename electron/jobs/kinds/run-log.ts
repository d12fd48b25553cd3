// A run's log lines go to the catalogue as well as to jobs.log (issue 14): the run page shows the real log after a
// reload, for a finished run, or for a run trained from the CLI. Lines are written in batches (a chatty run costs a
// few transactions, not one per line); a write the catalogue refuses never fails the run: the lines wait for the next
// batch, and a log that cannot be stored at all says so once in the live log.
import { firstLine } from '../../../shared/errors';
import { RUN_LOG_KEEP } from '../../../shared/contract/training';
import type { Database } from '../../catalogue/database';
import { appendRunLog, type RunLogEntry } from '../../catalogue/runs';

/** How long a line may wait before its batch is written. */
export const RUN_LOG_FLUSH_MS = 250;
/** A batch this long is written at once. */
const RUN_LOG_BATCH = 50;

export interface RunLogWriterOptions {
  flushMs?: number;
  /** Told once, in words, when lines could not be stored (the train kind puts it in the live log). */
  onFailure?: (message: string) => void;
  /** The catalogue write (a test seam for a refusing catalogue). */
  append?: typeof appendRunLog;
}

export class RunLogWriter {
  private pending: RunLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failureTold = false;
  private closed = false;

  constructor(private readonly db: Database, private readonly runId: number, private readonly options: RunLogWriterOptions = {}) {}

  add(level: RunLogEntry['level'], message: string): void {
    if (this.closed) return;
    this.pending.push({ level, message, at: new Date().toISOString() });
    if (this.pending.length >= RUN_LOG_BATCH) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.flushMs ?? RUN_LOG_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what waits; a refused write keeps the newest lines for the next try (never throws). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    try {
      (this.options.append ?? appendRunLog)(this.db, this.runId, lines);
    } catch (error) {
      // A busy or full catalogue: keep the lines (bounded as the table is) and try again with the next batch or at the end.
      this.pending = [...lines, ...this.pending].slice(-RUN_LOG_KEEP);
      if (!this.failureTold) {
        this.failureTold = true;
        this.options.onFailure?.(`the run's log could not be stored in the catalogue (${firstLine(error)}); the run goes on`);
      }
    }
  }

  /** The run ended: a last write; lines still refused then are dropped (the run's outcome is what must be kept). */
  close(): void {
    this.flush();
    this.closed = true;
    this.pending = [];
  }
}
