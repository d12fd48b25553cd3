// Runs test files through node:test's run() in the order given (the `--test` command line sorts them by name, so the
// longest could not start first), with the spec reporter and the file-times reporter, as `node --test` would.
// Started by scripts/run-tests.mjs as `node --import tsx run-test-files.mjs <concurrency> <file>...`: each test file's
// process inherits this process's --import tsx.
import { resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import testFileTimes from './test-file-times.mjs';

const [concurrencyText, ...files] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length === 0) {
  console.error('usage: node --import tsx scripts/run-test-files.mjs <concurrency> <test file>...');
  process.exit(2);
}
// Absolute paths: a file's own test is then named by the same path its events carry, which the times reporter matches.
const stream = run({ files: files.map((file) => resolve(file)), concurrency });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
stream.compose(testFileTimes).pipe(process.stdout);
