import type { Migration } from './types';

// One table for every long task (import, download, train, evaluate, export, predict): the job runtime records each job
// with the process that runs it, so a second process (the CLI beside the desktop app) can list it, ask to cancel it,
// wait for the one cpu slot, and fail only the jobs whose process is really gone. Issue 12 §2.3.
export const migration005: Migration = {
  version: 5,
  name: 'jobs',
  up(db) {
    db.exec(`
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        -- no CHECK on kind: a new kind ('health') must not need a table rebuild; the contract validates kinds
        kind TEXT NOT NULL,
        lane TEXT NOT NULL CHECK (lane IN ('cpu', 'io', 'interactive')),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
        title TEXT NOT NULL,
        input_json TEXT NOT NULL,
        result_json TEXT,
        error TEXT,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        parent_job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        -- "host:pid:boot" of the process that runs it (catalogue/process-owner.ts)
        owner TEXT NOT NULL,
        cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
        -- last JobProgress, written at most once a second, so another process (pawprint jobs) sees it
        progress_json TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at TEXT,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX jobs_active ON jobs (lane, status, id) WHERE status IN ('queued', 'running');
      CREATE INDEX jobs_by_kind ON jobs (kind, id);
      CREATE INDEX jobs_by_run ON jobs (run_id) WHERE run_id IS NOT NULL;
    `);
  },
};
