import type { Command } from '../command';
import { UsageError } from '../command';
import { JobKind } from '../../../shared/contract/jobs';
import type { JobInfo } from '../../../shared/contract/jobs';
import { terminalSafe } from '../terminal-text';

// `pawprint jobs`: the long tasks (imports, downloads, training, ...) of this catalogue, whichever process runs them
// (the desktop app beside the CLI included), and `pawprint jobs cancel <id>` to stop one.

function table(header: string[], rawRows: string[][]): string {
  const rows = rawRows.map((row) => row.map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function progressText(job: JobInfo): string {
  const progress = job.progress;
  if (job.status === 'queued' && job.queuePosition !== null) return `waiting, position ${job.queuePosition}`;
  if (!progress || (job.status !== 'running' && job.status !== 'queued')) return '-';
  return progress.total === null ? `${progress.phase} ${progress.done}` : `${progress.phase} ${progress.done}/${progress.total}`;
}

const eta = (job: JobInfo) => {
  const seconds = job.status === 'running' ? job.progress?.etaSeconds : null;
  if (seconds === null || seconds === undefined) return '-';
  return seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
};

const ownerText = (job: JobInfo) => (job.owner.thisProcess ? 'this process' : `pid ${job.owner.pid} on ${job.owner.host}`);

function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function jobsTable(jobs: JobInfo[]): string {
  if (jobs.length === 0) return 'No jobs: imports, downloads, training runs, evaluations, exports and predictions appear here while they run and after.';
  return table(
    ['id', 'kind', 'status', 'title', 'progress', 'eta', 'owner', 'age'],
    jobs.map((job) => [String(job.id), job.kind, job.status, job.title, progressText(job), eta(job), ownerText(job), age(job.createdAt)]),
  );
}

function jobId(text: string | undefined, usage: string): number {
  if (text === undefined) throw new UsageError(`${usage}: give the job id (pawprint jobs lists them)`);
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`"${terminalSafe(text)}" is not a job id: give the number pawprint jobs shows`);
  return Number(text);
}

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'List long tasks (imports, downloads, training, evaluations, exports, predictions) with status, progress and owner; cancel one',
  usage: 'pawprint jobs [--active] [--kind K] [--json] | pawprint jobs cancel <id> | pawprint jobs show <id> [--json]',
  options: {
    active: { type: 'boolean', description: 'only queued and running jobs' },
    kind: { type: 'string', description: `only jobs of this kind (${JobKind.options.join(', ')})` },
  },
  async run({ positionals, values }, context) {
    const [action, id, ...rest] = positionals;
    if (action === undefined) {
      const kind = typeof values.kind === 'string' ? JobKind.safeParse(values.kind) : null;
      if (kind && !kind.success) throw new UsageError(`--kind must be one of ${JobKind.options.join(', ')} (got "${terminalSafe(String(values.kind))}")`);
      const { jobs } = await context.services().request('jobs.list', { active: values.active === true, kind: kind?.data, limit: 1000 });
      context.output({ jobs }, () => jobsTable(jobs));
      return;
    }
    if (rest.length > 0) throw new UsageError(`jobs ${terminalSafe(action)} takes one job id (got "${terminalSafe(rest[0]!)}" too)`);
    if (action === 'cancel') {
      const answer = await context.services().request('jobs.cancel', { id: jobId(id, 'jobs cancel') });
      context.output(answer, () => {
        const job = answer.job;
        if (!answer.cancelled) return `Job ${job.id} (${job.title}) had already ended: ${job.status}.`;
        if (job.status === 'cancelled') return `Cancelled job ${job.id} (${job.title}).`;
        return `Asked ${ownerText(job)} to cancel job ${job.id} (${job.title}); it stops after its current step.`;
      });
      return;
    }
    if (action === 'show') {
      const answer = await context.services().request('jobs.get', { id: jobId(id, 'jobs show') });
      context.output(answer, () => {
        const job = answer.job;
        return [
          jobsTable([job]),
          job.progress?.message ? `\n${job.progress.message}` : '',
          job.error ? `\nerror: ${job.error}` : '',
        ].join('');
      });
      return;
    }
    throw new UsageError(`unknown jobs action "${terminalSafe(action)}": use pawprint jobs, jobs cancel <id> or jobs show <id>`);
  },
};
