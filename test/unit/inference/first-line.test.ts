// One helper turns anything thrown into the one-line reason users see (a run's failure, a model that cannot be built).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstLine } from '../../../shared/errors';

test('firstLine keeps the first line of an error message, trimmed', () => {
  assert.equal(firstLine(new Error('  disk full\n    at write (fs.js:1:1)')), 'disk full');
  assert.equal(firstLine(new Error('database is locked\r\nmore')), 'database is locked');
});

test('firstLine reads thrown strings and message-bearing objects', () => {
  assert.equal(firstLine('plain reason\nsecond'), 'plain reason');
  assert.equal(firstLine({ message: 'from a worker\nstack' }), 'from a worker');
  assert.equal(firstLine(42), '42');
});

test('firstLine skips blank leading lines and never returns an empty reason', () => {
  assert.equal(firstLine(new Error('\n  \nthe reason\nmore')), 'the reason');
  assert.equal(firstLine(new Error('')), 'unknown error');
  assert.equal(firstLine(null), 'null');
});
