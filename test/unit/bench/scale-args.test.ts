// The scale bench's command line (bench/_scale-args.ts): sizes, stage lists with what they need, one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGES, parseScaleArgs, withPrerequisites } from '../../../bench/_scale-args';

test('20,000 photos by default, in a plain `npm run bench` too; --n wins', () => {
  assert.equal(parseScaleArgs([]).n, 20_000);
  assert.equal(parseScaleArgs([]).nFrom, 'default');
  assert.equal(parseScaleArgs(['--n', '100_000']).n, 100_000);
  assert.equal(parseScaleArgs(['--n', '100_000']).nFrom, '--n');
  assert.deepEqual(parseScaleArgs([]).stages, [...STAGES]);
});

test('a stage list gains the stages it needs, in pipeline order', () => {
  assert.deepEqual(withPrerequisites(['export']), ['import', 'split', 'train-cnn', 'export']);
  // Export takes the mobilenetv2 run when that is the only training asked for (a 100,000 run can skip cnn's half hour).
  assert.deepEqual(withPrerequisites(['export', 'train-mobilenet']), ['import', 'split', 'train-mobilenet', 'export']);
  assert.deepEqual(withPrerequisites(['train-mobilenet', 'train-cnn', 'export']), ['import', 'split', 'train-cnn', 'train-mobilenet', 'export']);
  assert.deepEqual(withPrerequisites(['grid', 'rescan']), ['import', 'rescan', 'grid']);
  assert.deepEqual(parseScaleArgs(['--stages', 'health, label']).stages, ['import', 'split', 'label', 'health']);
});

test('bad options get one line saying what to give', () => {
  assert.throws(() => parseScaleArgs(['--n', '10']), /--n must be a whole number >= 20 \(got "10"\)/);
  assert.throws(() => parseScaleArgs(['--stages', 'import,train']), /unknown stage train \(stages: import, rescan/);
  assert.throws(() => parseScaleArgs(['--keep']), /--keep needs a value/);
  assert.throws(() => parseScaleArgs(['--size', '3']), /unknown option --size/);
});
