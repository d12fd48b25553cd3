import type { Migration } from './types';

// The whole schema the product card asks for: datasets and their images, classes and labels (with history for
// undo and the image detail view), seeded splits, runs with per-epoch metrics, evaluations with per-image predictions.
export const migration001: Migration = {
  version: 1,
  name: 'initial schema',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        root_path TEXT NOT NULL,
        layout TEXT NOT NULL DEFAULT 'folders' CHECK (layout IN ('folders', 'tutorial', 'flat')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        last_import_at TEXT
      ) STRICT;

      CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
        scanned INTEGER NOT NULL DEFAULT 0,
        imported INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        missing INTEGER NOT NULL DEFAULT 0,
        error TEXT
      ) STRICT;

      CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        color TEXT NOT NULL,
        position INTEGER NOT NULL,
        UNIQUE (dataset_id, name)
      ) STRICT;

      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        content_hash TEXT,
        byte_size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        width INTEGER,
        height INTEGER,
        format TEXT,
        color_space TEXT,
        channels INTEGER,
        has_alpha INTEGER,
        orientation INTEGER,
        status TEXT NOT NULL CHECK (status IN ('ok', 'rejected', 'duplicate', 'missing')),
        reason TEXT,
        duplicate_of INTEGER REFERENCES images(id) ON DELETE SET NULL,
        folder_label TEXT,
        folder_split TEXT CHECK (folder_split IN ('train', 'val', 'test')),
        imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (dataset_id, rel_path)
      ) STRICT;
      CREATE INDEX images_by_hash ON images (dataset_id, content_hash);
      CREATE INDEX images_by_status ON images (dataset_id, status);

      CREATE TABLE labels (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        source TEXT NOT NULL CHECK (source IN ('folder', 'manual')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX labels_by_class ON labels (class_id);

      CREATE TABLE label_history (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        class_name TEXT,
        source TEXT NOT NULL,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX label_history_by_image ON label_history (image_id);

      CREATE TABLE splits (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        method TEXT NOT NULL CHECK (method IN ('stratified', 'tutorial')),
        seed INTEGER NOT NULL,
        train_fraction REAL NOT NULL,
        val_fraction REAL NOT NULL,
        test_fraction REAL NOT NULL,
        data_hash TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;

      CREATE TABLE split_assignments (
        split_id INTEGER NOT NULL REFERENCES splits(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        subset TEXT NOT NULL CHECK (subset IN ('train', 'val', 'test')),
        PRIMARY KEY (split_id, image_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX split_assignments_by_image ON split_assignments (image_id);

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        split_id INTEGER REFERENCES splits(id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        preset TEXT NOT NULL,
        config_json TEXT NOT NULL,
        class_names_json TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
        error TEXT,
        backend TEXT,
        versions_json TEXT NOT NULL DEFAULT '{}',
        seed INTEGER NOT NULL,
        data_hash TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at TEXT,
        finished_at TEXT,
        best_epoch INTEGER,
        best_val_accuracy REAL,
        test_accuracy REAL,
        test_loss REAL,
        notes TEXT NOT NULL DEFAULT '',
        tags_json TEXT NOT NULL DEFAULT '[]',
        model_path TEXT,
        parent_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL
      ) STRICT;

      CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        phase TEXT NOT NULL DEFAULT 'train' CHECK (phase IN ('train', 'fine-tune')),
        epoch INTEGER NOT NULL,
        loss REAL,
        accuracy REAL,
        val_loss REAL,
        val_accuracy REAL,
        duration_ms REAL NOT NULL,
        PRIMARY KEY (run_id, epoch)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        subset TEXT,
        source TEXT NOT NULL,
        accuracy REAL NOT NULL,
        loss REAL NOT NULL,
        metrics_json TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;

      CREATE TABLE predictions (
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        true_index INTEGER NOT NULL,
        predicted_index INTEGER NOT NULL,
        probabilities_json TEXT NOT NULL,
        loss REAL NOT NULL,
        PRIMARY KEY (evaluation_id, image_id)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
