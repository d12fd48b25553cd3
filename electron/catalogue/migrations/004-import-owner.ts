import type { Migration } from './types';

// Which process runs an import ("host:pid:boot"), as 003 did for runs: a catalogue opened by a second process (the CLI
// beside the desktop app) then fails only the imports whose process is really gone, not the other process's live one.
export const migration004: Migration = {
  version: 4,
  name: 'import owner process',
  up(db) {
    db.exec(`ALTER TABLE imports ADD COLUMN owner TEXT`);
  },
};
