// The tutorial download job: fetch and extract the archive (resumable), then import it as a child import job, so
// the import is listed, followed and cancelled like any other (cancelling the download cancels it).
import { JobResults } from '../../../shared/contract/jobs';
import type { JobResult } from '../../../shared/contract/jobs';
import { downloadTutorial, TUTORIAL_URL } from '../../dataset/download';
import type { JobKindSpec } from '../kind';
import { JobFailure } from '../job-failure';

export interface DownloadState {
  url: string;
}

export const downloadKind: JobKindSpec<'download', DownloadState> = {
  kind: 'download',
  lane: () => 'io',
  async prepare() {
    return {
      title: 'Download the tutorial dataset',
      exclusiveKey: 'download:tutorial',
      state: { url: process.env.PAWPRINT_TUTORIAL_URL ?? TUTORIAL_URL },
    };
  },
  async run(ctx, state) {
    const result: JobResult<'download'> = { datasetId: null, importId: null, importJobId: null };
    const root = await downloadTutorial({
      url: state.url,
      directory: ctx.paths.downloads,
      signal: ctx.signal,
      onProgress: (phase, received, total) => ctx.progress({ phase, done: received, total, etaSeconds: null, message: null, detail: null }),
    });
    ctx.progress({ phase: 'import', done: 0, total: null, etaSeconds: null, message: null, detail: null });
    const child = await ctx.child('import', { path: root });
    result.importJobId = child.id;
    // JobFinished's result is typed as any kind's result (the contract's union), so read it as the import's.
    const summary = child.result === null ? null : JobResults.import.parse(child.result);
    result.datasetId = summary?.datasetId ?? null;
    result.importId = summary?.importId ?? null;
    if (child.status === 'failed') throw new JobFailure(child.error ?? 'the import failed', result);
    if (child.status === 'cancelled' && !ctx.signal.aborted) throw new JobFailure('the import of the download was cancelled', result);
    return result;
  },
};
