// Runs node's test runner over one suite's test files (Node 20's --test does not expand globs itself):
//   unit       test/unit (and tests beside the code in electron/, shared/) minus the slow files: quick, run often
//   slow       the files listed in scripts/test-suites.mjs or named *.slow.test.ts: training, MobileNetV2, long corpora
//   unit+slow  both as one pool (what `npm test` and so CI run): the slow files no longer wait for the unit ones
//   e2e        test/e2e: the built app in a browser
// Further arguments keep only the files whose path contains one of them, e.g. `unit test/unit/foundation/web-host`.
// --list prints the suite's files (in the order they start) instead of running them.
// --record merges this run's file times into scripts/test-file-times.json (the order files start in).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSlow } from './test-suites.mjs';

const argv = process.argv.slice(2);
const list = argv.includes('--list');
const record = argv.includes('--record');
const [kind = 'unit', ...filters] = argv.filter((arg) => arg !== '--list' && arg !== '--record');
const KINDS = ['unit', 'slow', 'unit+slow', 'e2e'];
if (!KINDS.includes(kind)) {
  console.error(`Unknown test suite "${kind}": use ${KINDS.join(', ')}`);
  process.exit(2);
}
/** Whether a file under test/unit, electron or shared belongs to the suite being run. */
const wanted = (path) => kind === 'unit+slow' || isSlow(path) === (kind === 'slow');
const roots = kind === 'e2e' ? ['test/e2e'] : ['test/unit', 'electron', 'shared'];
const files = [];
const inOtherSuite = [];
for (const root of roots) {
  let entries = [];
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    continue;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    if (filters.length > 0 && !filters.some((filter) => path.includes(filter))) continue;
    if (kind !== 'e2e' && !wanted(path)) inOtherSuite.push(path);
    else files.push(path);
  }
}
if (files.length === 0) {
  const other = kind === 'slow' ? 'unit' : 'slow';
  const hint = filters.length > 0 && inOtherSuite.length > 0 ? `; they are in the ${other} suite: node scripts/run-tests.mjs ${other} ${filters.join(' ')}` : '';
  console.error(`No ${kind} test files found${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''}${hint}`);
  process.exit(1);
}

// Longest first: with two files at a time, a long file started last keeps one core busy alone at the end (the slow
// suite's 49 s import test did). Times are the last recorded ones; a file not measured yet is assumed long for its suite
// (a new slow file is usually a heavy one), so it starts early rather than trail at the end.
const timesFile = fileURLToPath(new URL('./test-file-times.json', import.meta.url));
let recorded = {};
try {
  recorded = JSON.parse(readFileSync(timesFile, 'utf8'));
} catch {
  // No table: the files keep their name order.
}
const unmeasured = (path) => (path.startsWith('test/e2e') ? 20 : isSlow(path) ? 15 : 5);
const expected = (path) => recorded[path.split('\\').join('/')] ?? unmeasured(path);
files.sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));
if (list) {
  console.log(files.join('\n'));
  process.exit(0);
}
// Two files at a time in every suite, on 2 cores. Most unit and slow files keep one core busy (a tfjs model trains on
// one thread, a process starts, the disk is read) and the few that use both (training threads, sharp's decode pool)
// share them; no test depends on having the machine to itself. The e2e files each drive a Chromium, a server and
// training workers, yet the suite is about 295 s of CPU (measured at load 11) and took 256 s one file at a time in CI, so
// a core sat idle for much of it; two at a time all 29 tests passed at load 11, with memory to spare for two Chromiums.
const concurrency = 2;
const runner = fileURLToPath(new URL('./run-test-files.mjs', import.meta.url));
const env = { ...process.env, ...(record ? { PAWPRINT_RECORD_TEST_TIMES: timesFile } : {}) };
const child = spawn(process.execPath, ['--import', 'tsx', runner, String(concurrency), ...files], { stdio: 'inherit', env });
child.on('exit', (code) => process.exit(code ?? 1));
