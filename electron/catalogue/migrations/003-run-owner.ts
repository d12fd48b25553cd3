import type { Migration } from './types';

// Which process trains a run ("host:pid:boot"; older rows "host:pid"), so that a catalogue opened by a second process (the CLI beside the desktop
// app) fails only the runs whose training process is really gone, not the other process's live run.
export const migration003: Migration = {
  version: 3,
  name: 'run owner process',
  up(db) {
    db.exec(`ALTER TABLE runs ADD COLUMN owner TEXT`);
  },
};
