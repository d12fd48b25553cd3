import type { Migration } from './types';

// A run's training log (issue 14): the lines its train job logged, kept with the run so its page shows the real log
// after a reload, for a finished run, or for a run trained from the CLI. seq orders lines across processes and lets a
// page ask only for lines after the last it has; AUTOINCREMENT so a deleted run's numbers are never handed out again
// (a page following a reused run id would skip new lines numbered below what it had). Bounded per run by the writer
// (catalogue/runs.ts RUN_LOG_KEEP); deleting a run deletes its lines.
export const migration009: Migration = {
  version: 9,
  name: 'run log',
  up(db) {
    db.exec(`
      CREATE TABLE run_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('info', 'warn')),
        message TEXT NOT NULL
      ) STRICT;
      CREATE INDEX run_log_by_run ON run_log (run_id, seq);
    `);
  },
};
