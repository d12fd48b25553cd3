// A node:test reporter that prints how long each test file took (its process, from start to exit, imports and
// hooks included) and the suite's wall time, slowest first, so a file that belongs in the slow suite is easy to see.
// With PAWPRINT_RECORD_TEST_TIMES=<json file> (run-tests.mjs --record) it also merges the times into that file, which
// run-tests.mjs reads to start the longest files first.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export default async function* testFileTimes(source) {
  const started = Date.now();
  const starts = new Map();
  const times = [];
  for await (const event of source) {
    const { name, file } = event.data ?? {};
    // Each file is one test of the parent process, named by its path: dequeued when its process starts.
    if (!file || name !== file) continue;
    if (event.type === 'test:dequeue') starts.set(file, Date.now());
    else if (event.type === 'test:complete' && starts.has(file)) times.push([relative(process.cwd(), file), Date.now() - starts.get(file)]);
  }
  times.sort((a, b) => b[1] - a[1]);
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(8);
  yield `\nTest files by wall time (${times.length} files):\n`;
  for (const [file, ms] of times) yield `${seconds(ms)}  ${file}\n`;
  yield `Wall time: ${seconds(Date.now() - started).trim()}\n`;
  const table = process.env.PAWPRINT_RECORD_TEST_TIMES;
  if (table) {
    let known = {};
    try {
      known = JSON.parse(readFileSync(table, 'utf8'));
    } catch {
      // A first recording.
    }
    for (const [file, ms] of times) known[file.split('\\').join('/')] = Math.round(ms / 100) / 10;
    const sorted = Object.fromEntries(Object.entries(known).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(table, `${JSON.stringify(sorted, null, 2)}\n`);
    yield `File times recorded in ${relative(process.cwd(), table)}\n`;
  }
}
