// Which process owns a long job recorded in the catalogue (a training run, a folder import), so that a catalogue
// opened by a second process (the CLI beside the desktop app) fails only the jobs whose process is really gone.
import { hostname, uptime } from 'node:os';

/** When this machine booted, in whole seconds (os.uptime is whole seconds; compared with a tolerance). */
export function bootTimeSeconds(): number {
  return Math.round(Date.now() / 1000 - uptime());
}

/**
 * This process ("host:pid:boot"), recorded on the jobs it runs. The boot time tells a pid of this boot from the
 * same number reused after a restart, so a job left by a crash before a reboot is not taken for a live one.
 */
export function processOwner(): string {
  return `${hostname()}:${process.pid}:${bootTimeSeconds()}`;
}

/** Reads "host:pid:boot", or the older "host:pid". */
export function parseOwner(owner: string): { host: string; pid: number; boot: number | null } {
  const parts = owner.split(':');
  const last = Number(parts.at(-1));
  const beforeLast = Number(parts.at(-2));
  if (parts.length >= 3 && Number.isInteger(last) && Number.isInteger(beforeLast)) {
    return { host: parts.slice(0, -2).join(':'), pid: beforeLast, boot: last };
  }
  return { host: parts.slice(0, -1).join(':'), pid: last, boot: null };
}

/** Boot times read a second or two apart can differ; a reboot moves them by far more. */
const BOOT_TOLERANCE_SECONDS = 120;

/**
 * Whether the recorded owner may still be running the job. No owner (rows from before owners were recorded) counts
 * as gone; so does this very process, which is only now opening the catalogue and so runs nothing yet.
 */
export function ownerAlive(owner: string | null): boolean {
  if (!owner) return false;
  const { host, pid, boot } = parseOwner(owner);
  if (host !== hostname()) return true; // another machine sharing the file: not ours to judge
  if (boot !== null && Math.abs(boot - bootTimeSeconds()) > BOOT_TOLERANCE_SECONDS) return false; // before a restart
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
