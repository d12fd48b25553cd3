// The scale bench's memory sampler (bench/_process-tree.ts): finds children and grandchildren through /proc and reports
// the peak of a child that allocated and freed memory before the sampler looked again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PeakSampler, descendantPids, readProcessStatus, readPssKb } from '../../../bench/_process-tree';

const onLinux = process.platform === 'linux';

test('a grandchild is a descendant, and a short 150 MB spike in it is in the peaks', { skip: !onLinux && 'reads /proc' }, async () => {
  // No sample between start() and stop(): only the kernel's high-water mark can know about the spike.
  const sampler = new PeakSampler(process.pid, 600_000);
  sampler.start();
  // The child starts a grandchild that fills 150 MB, frees it (and collects it), reports its pid, then waits to be killed.
  const grandchild = `let b = Buffer.alloc(150 * 1024 * 1024, 1); b[5] = 2; b = null; gc(); console.log(process.pid); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ['--expose-gc', '-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const grandchildPid = Number(line.toString().trim());
    assert.ok(descendantPids(process.pid).includes(grandchildPid));
    assert.equal(readProcessStatus(grandchildPid)?.ppid, child.pid);
    const peaks = sampler.stop();
    const seen = peaks.processes.find((p) => p.pid === grandchildPid);
    assert.ok(seen, 'the grandchild was sampled');
    assert.ok((readProcessStatus(grandchildPid)?.rssKb ?? 0) < 100 * 1024, 'the grandchild gave its 150 MB back');
    // VmHWM keeps the spike even if no sample fell inside it.
    assert.ok(seen.peakMb >= 150, `grandchild peak ${seen.peakMb} MB`);
    assert.equal(seen.role, 'other');
    assert.ok(peaks.mainMb > 20 && peaks.treeMb >= peaks.mainMb);
    assert.equal(peaks.chromiumMb, null);
    assert.equal(peaks.workerMb, null);
  } finally {
    // The grandchild first: with its parent gone it would no longer be a descendant, and it holds our stdout pipe open.
    for (const pid of descendantPids(process.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
  }
});

test('a process that is gone reads as null, not an error; a live one has a PSS no larger than its RSS', () => {
  assert.equal(readProcessStatus(2 ** 22 + 12345), null);
  assert.equal(readPssKb(2 ** 22 + 12345), null);
  if (!onLinux) return;
  const pss = readPssKb(process.pid);
  const rss = readProcessStatus(process.pid)!.rssKb;
  assert.ok(pss !== null && pss > 0 && pss <= rss * 1.05, `PSS ${pss} KB, RSS ${rss} KB`);
});
