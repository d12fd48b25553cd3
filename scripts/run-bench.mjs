// `npm run bench [name...]`: runs each bench/<name>.ts in turn (all of them by default). Each prints a table and
// writes bench-results/<name>.json; benchmarks needing ../shared say so and skip.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const wanted = process.argv.slice(2);
const all = readdirSync('bench').filter((name) => name.endsWith('.ts') && !name.startsWith('_')).map((name) => name.replace(/\.ts$/, ''));
const chosen = wanted.length > 0 ? wanted : all;
let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`No benchmark named ${name} (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  console.log(`\n=== bench/${name}.ts`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
