import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { tempDir } from '../../support/temp';
import { testBase, writeHealthDataset } from './fixtures';

// `pawprint health` through the real job worker process: the --json document has the issue's shape (labelIssues with
// path/label/suggested/score, most likely first; nearDuplicates with paths/similarity; outliers with path/score; classes
// by name), the planted flip comes first, and a bad --folds or base is one line, exit code 2 / 1.

const base = testBase();
const skip = base === null ? 'needs the bundled base (resources/models) or ../shared/models' : false;
const dir = tempDir();
after(() => dir.cleanup());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) }, out, err };
}

test('pawprint health --json: the issue\'s shape, label issues most likely first', { skip }, async () => {
  const fixture = await writeHealthDataset(join(dir.path, 'shapes'));
  const db = join(dir.path, 'catalogue.db');
  const imported = capture();
  assert.equal(await runCli(['import', fixture.root, '--db', db], imported.io), 0, imported.err.join('\n'));

  const run = capture();
  const code = await runCli(['health', 'shapes', '--db', db, '--base', base!, '--folds', '4', '--json'], run.io);
  assert.equal(code, 0, run.err.join('\n'));
  const doc = JSON.parse(run.out.join('\n')) as {
    labelIssues: Array<{ path: string; label: string; suggested: string; score: number; flagged: boolean }>;
    nearDuplicates: Array<{ paths: string[]; similarity: number }>;
    outliers: Array<{ path: string; score: number }>;
    classes: Record<string, { count: number }>;
  };
  assert.ok(Array.isArray(doc.labelIssues) && Array.isArray(doc.nearDuplicates) && Array.isArray(doc.outliers));
  for (const issue of doc.labelIssues) {
    assert.deepEqual(Object.keys(issue).sort(), ['flagged', 'label', 'path', 'score', 'suggested']);
    assert.equal(typeof issue.score, 'number');
    assert.equal(typeof issue.flagged, 'boolean');
  }
  for (let i = 1; i < doc.labelIssues.length; i++) assert.ok(doc.labelIssues[i - 1].score >= doc.labelIssues[i].score);
  assert.equal(doc.labelIssues[0]?.path, join(fixture.root, fixture.flipped));
  assert.deepEqual([doc.labelIssues[0].label, doc.labelIssues[0].suggested], ['squares', 'circles']);
  assert.equal(doc.labelIssues[0].flagged, true, 'the planted flip is flagged, not only ranked');
  for (const group of doc.nearDuplicates) {
    assert.ok(group.paths.length >= 2 && typeof group.similarity === 'number');
  }
  for (const outlier of doc.outliers) assert.deepEqual(Object.keys(outlier).sort(), ['path', 'score']);
  assert.deepEqual(Object.keys(doc.classes).sort(), ['circles', 'squares']);
  assert.equal(doc.classes.squares.count, 19);

  const badFolds = capture();
  assert.equal(await runCli(['health', 'shapes', '--db', db, '--folds', '1'], badFolds.io), 2);
  assert.match(badFolds.err.join('\n'), /^pawprint health: --folds must be a whole number from 2 to 20/);
  const badBase = capture();
  assert.equal(await runCli(['health', 'shapes', '--db', db, '--base', join(dir.path, 'nothing')], badBase.io), 1);
  assert.equal(badBase.err.length, 1);
  assert.match(badBase.err[0], /the base .*nothing does not exist/);
});
