import type { Migration } from './types';

// The Dataset grid at 100,000 images (issue 17). A page of the grid is "the ids of one dataset's images of one status,
// in rel_path order, from row k": (dataset_id, status, rel_path) answers it from the index alone (the rowid rides
// along), so a deep OFFSET steps over index entries instead of table rows, and no sort is needed. It also answers
// everything images_by_status did, so that index goes (one less index for the import to write).
// A dataset's latest split is asked for on every page and summary: splits_by_dataset finds it without a scan.
// Exclusions are looked up per image (NOT EXISTS on the primary key); a dataset's excluded images are counted by
// joining from the exclusions, so they need nothing new.
export const migration008: Migration = {
  version: 8,
  name: 'grid indexes',
  up(db) {
    db.exec(`
      CREATE INDEX images_by_status_path ON images (dataset_id, status, rel_path);
      DROP INDEX images_by_status;
      CREATE INDEX splits_by_dataset ON splits (dataset_id, id);
    `);
  },
};
