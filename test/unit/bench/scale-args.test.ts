// The scale bench's command line (bench/_scale-args.ts): sizes, stage lists with what they need, one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGES, parseScaleArgs, withPrerequisites } from '../../../bench/_scale-args';

test('20,000 photos by default, 2,000 in a plain `npm run bench`, --n wins over both', () => {
  assert.equal(parseScaleArgs([], false).n, 20_000);
  assert.equal(parseScaleArgs([], true).n, 2000);
  assert.equal(parseScaleArgs([], true).nFrom, 'plain npm run bench');
  assert.equal(parseScaleArgs(['--n', '100_000'], true).n, 100_000);
  assert.deepEqual(parseScaleArgs([], false).stages, [...STAGES]);
});

test('a stage list gains the stages it needs, in pipeline order', () => {
  assert.deepEqual(withPrerequisites(['export']), ['import', 'split', 'train-cnn', 'export']);
  assert.deepEqual(withPrerequisites(['grid', 'rescan']), ['import', 'rescan', 'grid']);
  assert.deepEqual(parseScaleArgs(['--stages', 'health, label'], false).stages, ['import', 'split', 'label', 'health']);
});

test('bad options get one line saying what to give', () => {
  assert.throws(() => parseScaleArgs(['--n', '10'], false), /--n must be a whole number >= 20 \(got "10"\)/);
  assert.throws(() => parseScaleArgs(['--stages', 'import,train'], false), /unknown stage train \(stages: import, rescan/);
  assert.throws(() => parseScaleArgs(['--keep'], false), /--keep needs a value/);
  assert.throws(() => parseScaleArgs(['--size', '3'], false), /unknown option --size/);
});
