// `pawprint datasets` lists each dataset's counts in a line; images excluded in the Health view (issue 15) leave the
// counts, so the line says how many are excluded instead of letting them vanish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDataset } from '../../../electron/cli/commands/datasets';
import type { DatasetSummary } from '../../../shared/contract/index';

const dataset = (excluded: number | undefined): DatasetSummary => ({
  id: 3, name: 'pets', rootPath: '/photos/pets', layout: 'folders', createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
  counts: { ok: 10, rejected: 1, duplicate: 2, missing: 0, labelled: 9, unlabelled: 1, ...(excluded === undefined ? {} : { excluded }) },
  classes: [{ id: 1, name: 'cat', color: '#f00', position: 0, count: 5 }, { id: 2, name: 'dog', color: '#00f', position: 1, count: 4 }],
  latestSplit: null,
});

test('the datasets line says how many images are excluded, and says nothing when none are', () => {
  assert.match(describeDataset(dataset(4)), /10 images \(1 unlabelled, 1 rejected, 2 duplicates, 0 missing, 4 excluded\)/);
  assert.match(describeDataset(dataset(0)), /10 images \(1 unlabelled, 1 rejected, 2 duplicates, 0 missing\)/);
});
