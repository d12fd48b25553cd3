// Runs node's test runner over one suite's test files (Node 20's --test does not expand globs itself):
//   unit  test/unit (and tests beside the code in electron/, shared/) minus the slow files: quick, run often
//   slow  the files listed in scripts/test-suites.mjs or named *.slow.test.ts: training, MobileNetV2, long corpora
//   e2e   test/e2e: the built app in a browser
// Further arguments keep only the files whose path contains one of them, e.g. `unit test/unit/foundation/web-host`.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSlow } from './test-suites.mjs';

const argv = process.argv.slice(2);
// --list prints the suite's files instead of running them.
const list = argv.includes('--list');
const [kind = 'unit', ...filters] = argv.filter((arg) => arg !== '--list');
if (!['unit', 'slow', 'e2e'].includes(kind)) {
  console.error(`Unknown test suite "${kind}": use unit, slow or e2e`);
  process.exit(2);
}
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
    if (kind !== 'e2e' && isSlow(path) !== (kind === 'slow')) inOtherSuite.push(path);
    else files.push(path);
  }
}
files.sort();
if (files.length === 0) {
  const other = kind === 'slow' ? 'unit' : 'slow';
  const hint = filters.length > 0 && inOtherSuite.length > 0 ? `; they are in the ${other} suite: node scripts/run-tests.mjs ${other} ${filters.join(' ')}` : '';
  console.error(`No ${kind} test files found${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''}${hint}`);
  process.exit(1);
}
if (list) {
  console.log(files.join('\n'));
  process.exit(0);
}
const timesReporter = fileURLToPath(new URL('./test-file-times.mjs', import.meta.url));
const args = [
  '--import', 'tsx', '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${timesReporter}`, '--test-reporter-destination=stdout',
];
// Unit files mostly wait on process start-up and the disk: two at a time (Node's default on 2 cores is one).
// e2e files share one browser and server each, and slow files train or spawn workers that use every core: one at a time.
args.push(`--test-concurrency=${kind === 'unit' ? 2 : 1}`);
const child = spawn(process.execPath, [...args, ...files], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
