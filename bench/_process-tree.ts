// Peak memory of a process and everything it started, read from /proc (Linux): the scale bench's "peak RSS of every
// process". A sampler walks the descendants of a root pid (by the ppid in /proc/<pid>/stat) every few hundred ms and
// keeps, per process, the larger of its sampled VmRSS and its VmHWM (the kernel's own high-water mark, exact, but
// only meaningful since the last reset: each stage resets it through /proc/<pid>/clear_refs where it is allowed).
// Chromium is many processes sharing pages: its peak is the peak of their summed PSS (proportional set size, shared
// pages split between their users) at one sample, which a plain sum of RSS would count several times over.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export type ProcessRole = 'main' | 'job worker' | 'chromium' | 'other';

export interface ProcessStatus {
  pid: number;
  ppid: number;
  name: string;
  rssKb: number;
  /** null when the kernel does not report it. */
  hwmKb: number | null;
  threads: number;
  commandLine: string;
}

/** /proc/<pid>/status and cmdline of one process; null if it is gone (or this is not Linux). */
export function readProcessStatus(pid: number): ProcessStatus | null {
  let status: string;
  let commandLine = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
  const field = (name: string): string | undefined => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1];
  const kb = (name: string): number | null => {
    const value = field(name);
    return value === undefined ? null : Number.parseInt(value, 10);
  };
  return {
    pid,
    ppid: Number.parseInt(field('PPid') ?? '0', 10),
    name: field('Name') ?? '?',
    rssKb: kb('VmRSS') ?? 0,
    hwmKb: kb('VmHWM'),
    threads: Number.parseInt(field('Threads') ?? '1', 10),
    commandLine,
  };
}

/** Parent of every live process, from /proc/<pid>/stat (the command name may hold spaces and parentheses: parse after the last ')'). */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return parents;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return parents;
}

/** Every live descendant of `root` (children, their children, ...), not `root` itself. */
export function descendantPids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentsByPid()) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out.sort((a, b) => a - b);
}

export function processRole(status: ProcessStatus, root: number): ProcessRole {
  if (status.pid === root) return 'main';
  if (/chrom/i.test(status.name) || /chrom(e|ium)/i.test(status.commandLine.split(' ')[0] ?? '')) return 'chromium';
  if (status.commandLine.includes('job-worker-entry')) return 'job worker';
  return 'other';
}

/** Proportional set size in KB (/proc/<pid>/smaps_rollup, Linux >= 4.14); null where unreadable. */
export function readPssKb(pid: number): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s*(\d+)/m);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Resets the process's VmHWM to its current RSS (Linux >= 4.0); false where that is not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface ProcessPeak {
  pid: number;
  role: ProcessRole;
  name: string;
  peakMb: number;
  maxThreads: number;
  /** How the peak was read: the kernel's VmHWM since a reset (or since the process started), or sampled VmRSS only. */
  source: 'VmHWM' | 'sampled VmRSS';
}

export interface TreePeaks {
  processes: ProcessPeak[];
  /** Largest single process of each role (MB); null when none ran. */
  mainMb: number;
  workerMb: number | null;
  /** Largest sum of PSS over Chromium's processes at one sample (MB; RSS where PSS is unreadable). */
  chromiumMb: number | null;
  /** Largest sum over the whole tree at one sample (MB). */
  treeMb: number;
  samples: number;
}

interface Tracked {
  role: ProcessRole;
  name: string;
  sampledKb: number;
  hwmKb: number;
  hwmValid: boolean;
  maxThreads: number;
}

/** Samples the tree under `root` (default: this process) from start() to stop(). */
export class PeakSampler {
  private readonly tracked = new Map<number, Tracked>();
  private readonly preexisting = new Set<number>();
  private readonly resetDone = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private chromiumKb = 0;
  private treeKb = 0;
  private samples = 0;

  constructor(private readonly root: number = process.pid, private readonly intervalMs = 200) {}

  start(): void {
    for (const pid of [this.root, ...descendantPids(this.root)]) {
      this.preexisting.add(pid);
      if (resetPeak(pid)) this.resetDone.add(pid);
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  sample(): void {
    let chromium = 0;
    let tree = 0;
    for (const pid of [this.root, ...descendantPids(this.root)]) {
      const status = readProcessStatus(pid);
      if (!status) continue;
      const known = this.tracked.get(pid);
      // A process that started during the stage has a VmHWM of its own; an older one only after a reset.
      const hwmValid = status.hwmKb !== null && (!this.preexisting.has(pid) || this.resetDone.has(pid));
      const entry: Tracked = known ?? { role: processRole(status, this.root), name: status.name, sampledKb: 0, hwmKb: 0, hwmValid, maxThreads: 0 };
      entry.sampledKb = Math.max(entry.sampledKb, status.rssKb);
      if (hwmValid) entry.hwmKb = Math.max(entry.hwmKb, status.hwmKb ?? 0);
      entry.maxThreads = Math.max(entry.maxThreads, status.threads);
      this.tracked.set(pid, entry);
      if (entry.role === 'chromium') chromium += readPssKb(pid) ?? status.rssKb;
      tree += status.rssKb;
    }
    this.chromiumKb = Math.max(this.chromiumKb, chromium);
    this.treeKb = Math.max(this.treeKb, tree);
    this.samples++;
  }

  stop(): TreePeaks {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    const mb = (kb: number) => Math.round(kb / 1024);
    const processes: ProcessPeak[] = [...this.tracked.entries()].map(([pid, t]) => ({
      pid,
      role: t.role,
      name: t.name,
      peakMb: mb(Math.max(t.sampledKb, t.hwmValid ? t.hwmKb : 0)),
      maxThreads: t.maxThreads,
      source: t.hwmValid ? 'VmHWM' : 'sampled VmRSS',
    }));
    const largest = (role: ProcessRole) => {
      const peaks = processes.filter((p) => p.role === role).map((p) => p.peakMb);
      return peaks.length === 0 ? null : Math.max(...peaks);
    };
    const chromiumRan = processes.some((p) => p.role === 'chromium');
    return {
      processes,
      mainMb: largest('main') ?? 0,
      workerMb: largest('job worker'),
      chromiumMb: chromiumRan ? mb(this.chromiumKb) : null,
      treeMb: mb(this.treeKb),
      samples: this.samples,
    };
  }
}
