// `npm run bench [name...]`: runs each bench/<name>.ts in turn (all of them by default). Each prints a table and
// writes bench-results/<name>.json; benchmarks needing ../shared say so and skip. Options from the first one
// starting with "--" on go to every chosen bench: `npm run bench -- peer --rounds 3 --before`. A plain run takes
// the scale bench at its 20,000 photos (about half an hour on 2 cores).
// bench/generate-photos.ts is the scale bench's photo generator, a tool rather than a bench.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const TOOLS = ['generate-photos'];
const all = readdirSync('bench')
  .filter((name) => name.endsWith('.ts') && !name.startsWith('_'))
  .map((name) => name.replace(/\.ts$/, ''))
  .filter((name) => !TOOLS.includes(name));
const chosen = wanted.length > 0 ? wanted : all;
let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`No benchmark named ${name} (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  console.log(`\n=== bench/${name}.ts`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...options], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
