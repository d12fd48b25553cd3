// Runs node's test runner over test files (Node 20's --test does not expand globs itself).
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const [kind = 'unit', ...filters] = process.argv.slice(2);
const roots = kind === 'e2e' ? ['test/e2e'] : ['test/unit', 'electron', 'shared'];
const files = [];
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
    if (filters.length === 0 || filters.some((filter) => path.includes(filter))) files.push(path);
  }
}
files.sort();
if (files.length === 0) {
  console.error(`No ${kind} test files found`);
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec'];
// e2e tests share one browser and server per file and are heavy: one file at a time.
if (kind === 'e2e') args.push('--test-concurrency=1');
const child = spawn(process.execPath, [...args, ...files], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
