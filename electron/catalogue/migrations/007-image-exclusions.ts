import type { Migration } from './types';

// Excluded images (issue 15): the Health view drops a near-duplicate copy or an outlier from the dataset without
// touching its file. A row here keeps the image catalogued (a rescan finds it again, its label stays) but leaves it
// out of new splits, training and evaluation data and health checks until it is included again. A table of its own
// rather than a new images.status: the import's upsert rewrites status on every rescan, and status's CHECK cannot be
// widened without rebuilding the images table.
export const migration007: Migration = {
  version: 7,
  name: 'image exclusions',
  up(db) {
    db.exec(`
      CREATE TABLE image_exclusions (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
    `);
  },
};
