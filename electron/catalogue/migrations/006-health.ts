import type { Migration } from './types';

// Data-health reports (issue 15): one row per health job that finished, with the fingerprint of the labels (and images)
// it was computed on, so a report after a relabel reads as stale instead of silently wrong. The galleries are stored as
// JSON keyed by image id: they are read whole by one view and never queried by column.
export const migration006: Migration = {
  version: 6,
  name: 'health reports',
  up(db) {
    db.exec(`
      CREATE TABLE health_reports (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        labels_fingerprint TEXT NOT NULL,
        options_json TEXT NOT NULL,
        report_json TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX health_reports_by_dataset ON health_reports (dataset_id, id);
    `);
  },
};
