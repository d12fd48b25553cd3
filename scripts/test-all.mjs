// `npm test` (and so CI): every check, scheduled so two cores stay busy.
//   1. checks: both type-checks, svelte-check, lint and the build the e2e tests use, two at a time, longest first
//      (each tool runs on one thread: one after another they left a core idle for about two minutes);
//   2. the unit and slow suites as one pool of two files at a time, longest first (scripts/run-tests.mjs unit+slow);
//   3. the e2e suite on that build.
// A failed step stops the run after the steps running beside it end, as `a && b && c` did. Output of the steps in (1) is
// printed whole when each ends, so two tools never interleave their lines. The end gives each step's time.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The tools' own scripts, run by this Node (npx would add a start-up and a lookup to each).
const bin = (name, path) => join(root, 'node_modules', name, path);
const node = process.execPath;

/**
 * Each check with its CPU seconds (one thread each), measured at 08:30-08:35 UTC on 2 December 2026, so the longest
 * start first: tsc (node) 36 s, eslint 37 s, svelte-check 27 s, tsc (web) 14 s, the build 7 s. One after another they
 * took about 120 s; in two lanes about 65 s.
 */
const CHECKS = [
  { name: 'lint', seconds: 37, command: [node, bin('eslint', 'bin/eslint.js'), '--max-warnings', '0', '.'] },
  { name: 'typecheck: tsc (node)', seconds: 36, command: [node, bin('typescript', 'bin/tsc'), '-p', 'tsconfig.node.json'] },
  { name: 'typecheck: svelte-check', seconds: 27, command: [node, bin('svelte-check', 'bin/svelte-check'), '--tsconfig', './tsconfig.web.json', '--fail-on-warnings'] },
  { name: 'typecheck: tsc (web)', seconds: 14, command: [node, bin('typescript', 'bin/tsc'), '-p', 'tsconfig.web.json'] },
  { name: 'build (for e2e)', seconds: 7, command: ['npm', 'run', '--silent', 'build'] },
];

const times = [];

/** Runs a command; answers its exit code and, when `capture`, its output. */
function run(command, capture) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command[0], command.slice(1), { cwd: root, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const chunks = [];
    if (capture) {
      child.stdout.on('data', (chunk) => chunks.push(chunk));
      child.stderr.on('data', (chunk) => chunks.push(chunk));
    }
    const done = (code) => resolve({ code, output: Buffer.concat(chunks).toString(), seconds: (Date.now() - started) / 1000 });
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
      done(1);
    });
    child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

/** Runs the checks two at a time, longest first; answers whether all passed. */
async function runChecks() {
  const queue = [...CHECKS].sort((a, b) => b.seconds - a.seconds);
  let failed = false;
  const lane = async () => {
    for (let check = queue.shift(); check && !failed; check = queue.shift()) {
      const result = await run(check.command, true);
      times.push([check.name, result.seconds]);
      process.stdout.write(`\n== ${check.name}: ${result.code === 0 ? 'passed' : `FAILED (exit ${result.code})`} in ${result.seconds.toFixed(1)} s\n${result.output}`);
      if (result.code !== 0) failed = true;
    }
  };
  await Promise.all([lane(), lane()]);
  return !failed;
}

async function step(name, command) {
  process.stdout.write(`\n== ${name}\n`);
  const result = await run(command, false);
  times.push([name, result.seconds]);
  return result.code === 0;
}

// --checks runs only the type-checks and lint (no build, no tests): the static part in about a minute.
const checksOnly = process.argv.includes('--checks');
if (checksOnly) CHECKS.splice(CHECKS.findIndex((check) => check.name.startsWith('build')), 1);
const started = Date.now();
const runTests = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));
const passed = (await runChecks())
  && (checksOnly || (await step('unit and slow tests', [node, runTests, 'unit+slow'])))
  && (checksOnly || (await step('e2e tests', [node, runTests, 'e2e'])));
process.stdout.write(`\n== ${checksOnly ? 'checks' : 'npm test'} ${passed ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
for (const [name, seconds] of times) process.stdout.write(`${`${seconds.toFixed(1)} s`.padStart(9)}  ${name}\n`);
process.exit(passed ? 0 : 1);
