import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { datasetStore } from './datasets.svelte';
import { jobsStore } from './jobs.svelte';
import type {
  ClassInfo, DatasetSummary, Evaluation, EvaluationSummary, MisclassifiedFilter, MisclassifiedItem, Prediction, RunComparison, RunExport,
  RunLogLine, RunRecord, RunSummary,
} from '../../../shared/contract/index';

/** The run a page shows, from the location: `#/runs/<id>` (null on the Runs list). */
export function runIdFromHash(hash: string): number | null {
  const match = /^#\/?runs\/(\d+)$/.exec(hash);
  const id = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** A link to a run's page (clicking a run anywhere opens it). */
export const runPageHref = (runId: number): string => `#/runs/${runId}`;

export type EvaluationSourceChoice = 'test' | 'dataset' | 'folder';

export type SortKey = 'name' | 'preset' | 'status' | 'bestValAccuracy' | 'testAccuracy' | 'durationMs' | 'backend' | 'createdAt';

const MAX_COMPARE = 4;
/**
 * How often the page of a run that trains asks for its new stored log lines. Asking the catalogue (not following
 * jobs.log) also follows a run another process trains, such as the CLI.
 */
const PAGE_LOG_POLL_MS = 1500;

/** Lines of `more` after the last of `lines` (by seq), appended: a line answered twice shows once. */
export function appendLogLines(lines: readonly RunLogLine[], more: readonly RunLogLine[]): RunLogLine[] {
  const last = lines.at(-1)?.seq ?? 0;
  const fresh = more.filter((line) => line.seq > last);
  return fresh.length === 0 ? [...lines] : [...lines, ...fresh];
}

function compareValues(a: unknown, b: unknown): number {
  // Missing values sort last whatever the direction, so "best first" never starts with a row of dashes.
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * Runs table, comparison and evaluation state; the only place the Runs and Evaluate views reach the services, and the
 * one owner of the run list: the Train and Export views read `recent()` and `exportableRuns` here.
 */
class RunsStore {
  runs = $state<RunSummary[]>([]);
  loaded = $state(false);
  filter = $state('');
  statusFilter = $state<'all' | RunSummary['status']>('all');
  sortKey = $state<SortKey>('createdAt');
  sortDescending = $state(true);
  /** Runs ticked for comparison, in the order they were ticked (the first is "A"). */
  selected = $state<number[]>([]);
  comparison = $state<RunComparison | null>(null);
  comparing = $state(false);
  /** The user's target accuracy line on the curves (the tutorial draws one). */
  target = $state(0.8);

  evalRunId = $state<number | null>(null);
  evaluations = $state<EvaluationSummary[]>([]);
  evaluation = $state<Evaluation | null>(null);
  evaluating = $state(false);
  galleryFilter = $state<MisclassifiedFilter>('wrong');
  threshold = $state(0.7);
  gallery = $state<{ total: number; classNames: string[]; items: MisclassifiedItem[] } | null>(null);
  /** Index of the gallery item number keys relabel. */
  focused = $state(0);
  /** What to evaluate on: the run's test split, every labelled image of another dataset, or a folder of class subfolders. */
  evalSource = $state<EvaluationSourceChoice>('test');
  evalDatasetId = $state<number | null>(null);
  evalFolder = $state('');
  /** Wrong predictions of the last folder evaluation (folder files have no catalogue id, so no gallery). */
  folderMistakes = $state<Prediction[]>([]);

  /** The run page: which run, its record (config, versions, epochs, stored log), its evaluations and its exports (newest first). */
  pageRunId = $state<number | null>(null);
  page = $state<{ run: RunRecord; evaluations: EvaluationSummary[]; exports: RunExport[] } | null>(null);
  pageError = $state<string | null>(null);

  private refreshQueued = false;
  private pageLogTimer: ReturnType<typeof setInterval> | undefined;
  private refreshedListeners = new Set<(runs: RunSummary[]) => void>();

  constructor() {
    const refreshSoon = () => {
      if (this.refreshQueued) return;
      this.refreshQueued = true;
      setTimeout(() => {
        this.refreshQueued = false;
        void this.refresh();
      }, 200);
    };
    transport.subscribe('runs.changed', refreshSoon);
    // The page of a run follows its record: a run that ends, is renamed or gets an evaluation shows it.
    const reloadPage = (runId: number) => {
      if (runId === this.pageRunId) void this.loadPage(runId);
    };
    transport.subscribe('runs.changed', (event) => reloadPage(event.runId));
    // A run's row changes as its train job is queued, admitted and ended; an evaluation adds to its run.
    jobsStore.onChange((job, change) => {
      if (job.kind === 'train' || (job.kind === 'evaluate' && change === 'finished')) refreshSoon();
      // A finished export (or evaluation) of the page's run shows up on its page at once.
      if (change === 'finished' && job.runId !== null) reloadPage(job.runId);
    });
  }

  /** Whether the page's run is queued or training (its log may still grow). */
  private pageRunActive(): boolean {
    const page = this.page;
    if (page === null || page.run.id !== this.pageRunId) return false;
    const status = this.runs.find((run) => run.id === page.run.id)?.status ?? page.run.status;
    return status === 'queued' || status === 'running';
  }

  /** While the page's run trains, its new stored log lines are asked for every PAGE_LOG_POLL_MS; then the asking stops. */
  private followPageLog(): void {
    if (!this.pageRunActive()) {
      clearInterval(this.pageLogTimer);
      this.pageLogTimer = undefined;
      return;
    }
    this.pageLogTimer ??= setInterval(() => {
      if (this.pageRunActive() && this.pageRunId !== null) void this.loadPageLog(this.pageRunId);
      else this.followPageLog();
    }, PAGE_LOG_POLL_MS);
  }

  /** The lines the page's run logged since the last it shows. */
  private async loadPageLog(runId: number): Promise<void> {
    const page = this.page;
    if (page?.run.id !== runId) return;
    try {
      const { lines } = await transport.invoke('runs.log', { runId, afterSeq: page.run.log.at(-1)?.seq ?? 0 });
      const now = this.page;
      if (now?.run.id === runId && lines.length > 0) this.page = { ...now, run: { ...now.run, log: appendLogLines(now.run.log, lines) } };
    } catch {
      // A run deleted meanwhile: the page says so on its next load.
    }
  }

  /** The log the run page shows: the lines the catalogue keeps for the run (a reload, a CLI run, a finished run alike). */
  get pageLog(): RunLogLine[] {
    return this.page?.run.log ?? [];
  }

  /** Opens a run's page (null: back to the list); a run that does not exist says so in words. */
  async openPage(runId: number | null): Promise<void> {
    this.pageRunId = runId;
    this.pageError = null;
    if (runId === null) {
      this.page = null;
      this.followPageLog();
      return;
    }
    if (this.page?.run.id !== runId) this.page = null;
    await this.loadPage(runId);
  }

  private async loadPage(runId: number): Promise<void> {
    try {
      const [run, { evaluations }, { exports }] = await Promise.all([
        transport.invoke('runs.get', { runId }),
        transport.invoke('runs.evaluations', { runId }),
        transport.invoke('runs.exports', { runId }),
      ]);
      if (this.pageRunId === runId) this.page = { run, evaluations, exports };
      this.followPageLog();
    } catch (error) {
      if (this.pageRunId === runId) this.pageError = `Run ${runId} cannot be shown: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** "Compare with…" on a run page: this run and another, compared as the Runs list does. */
  async compareWith(runId: number, otherId: number): Promise<void> {
    this.selected = [runId, otherId];
    await this.compare();
  }

  /** "Queued — position 1, waiting for Train …" while the chosen run's evaluation waits for the cpu slot. */
  get evaluationQueue(): string | null {
    if (!this.evaluating || this.evalRunId === null) return null;
    const job = jobsStore.forRun(this.evalRunId, 'evaluate');
    return job?.status === 'queued' ? jobsStore.queueText(job) : null;
  }

  /** The evaluation under way for the chosen run: its evaluate job's progress. */
  get progress(): { done: number; total: number } | null {
    if (!this.evaluating || this.evalRunId === null) return null;
    const job = jobsStore.forRun(this.evalRunId, 'evaluate');
    const progress = job?.status === 'running' ? job.progress : null;
    return progress && progress.total !== null ? { done: progress.done, total: progress.total } : null;
  }

  get visibleRuns(): RunSummary[] {
    const needle = this.filter.trim().toLowerCase();
    const rows = this.runs.filter((run) => {
      if (this.statusFilter !== 'all' && run.status !== this.statusFilter) return false;
      if (!needle) return true;
      return [run.name, run.preset, run.backend ?? '', run.notes, ...run.tags].some((text) => text.toLowerCase().includes(needle));
    });
    const sign = this.sortDescending ? -1 : 1;
    return rows.sort((a, b) => {
      const av = a[this.sortKey];
      const bv = b[this.sortKey];
      if (av === null || bv === null) return compareValues(av, bv);
      return sign * compareValues(av, bv) || b.id - a.id;
    });
  }

  get completedRuns(): RunSummary[] {
    return this.runs.filter((run) => run.modelPath !== null);
  }

  /** Runs that have a saved model (completed, or cancelled after a checkpoint): what Export offers. */
  get exportableRuns(): RunSummary[] {
    return this.runs.filter((run) => run.modelPath !== null && (run.status === 'completed' || run.status === 'cancelled'));
  }

  /** The newest runs first (the Train view's list). */
  recent(count: number): RunSummary[] {
    return [...this.runs].sort((a, b) => b.id - a.id).slice(0, count);
  }

  /** Calls `listener` after each refresh of the list (a store keeping a selection among the runs); returns the unsubscribe. */
  onRefreshed(listener: (runs: RunSummary[]) => void): () => void {
    this.refreshedListeners.add(listener);
    return () => this.refreshedListeners.delete(listener);
  }

  sortBy(key: SortKey): void {
    if (this.sortKey === key) this.sortDescending = !this.sortDescending;
    else {
      this.sortKey = key;
      this.sortDescending = key !== 'name' && key !== 'preset' && key !== 'status' && key !== 'backend';
    }
  }

  async refresh(): Promise<void> {
    try {
      const { runs } = await transport.invoke('runs.list', { limit: 2000 });
      this.runs = runs;
      this.loaded = true;
      const ids = new Set(runs.map((run) => run.id));
      this.selected = this.selected.filter((id) => ids.has(id));
      for (const listener of this.refreshedListeners) listener(this.runs);
    } catch (error) {
      appStore.report(error);
    }
  }

  private replace(run: RunSummary): void {
    this.runs = this.runs.map((existing) => (existing.id === run.id ? run : existing));
  }

  async update(runId: number, edit: { name?: string; notes?: string; tags?: string[] }): Promise<boolean> {
    try {
      this.replace(await transport.invoke('runs.update', { runId, ...edit }));
      return true;
    } catch (error) {
      appStore.report(error);
      return false;
    }
  }

  async remove(runId: number): Promise<void> {
    try {
      await transport.invoke('runs.delete', { runId });
      this.runs = this.runs.filter((run) => run.id !== runId);
      this.selected = this.selected.filter((id) => id !== runId);
      if (this.comparison?.runs.some((run) => run.id === runId)) this.comparison = null;
      if (this.evalRunId === runId) this.clearEvaluation();
    } catch (error) {
      appStore.report(error);
    }
  }

  async again(runId: number): Promise<number | null> {
    try {
      const { runId: started } = await transport.invoke('runs.again', { runId });
      await this.refresh();
      return started;
    } catch (error) {
      appStore.report(error);
      return null;
    }
  }

  isSelected(runId: number): boolean {
    return this.selected.includes(runId);
  }

  toggleSelected(runId: number): void {
    if (this.selected.includes(runId)) this.selected = this.selected.filter((id) => id !== runId);
    else if (this.selected.length < MAX_COMPARE) this.selected = [...this.selected, runId];
    else appStore.report(new Error(`Compare up to ${MAX_COMPARE} runs at a time: untick one first.`));
  }

  get canCompare(): boolean {
    return this.selected.length >= 2 && this.selected.length <= MAX_COMPARE && !this.comparing;
  }

  async compare(): Promise<void> {
    if (!this.canCompare) return;
    this.comparing = true;
    try {
      this.comparison = await transport.invoke('runs.compare', { runIds: [...this.selected], evaluateMissing: true });
    } catch (error) {
      appStore.report(error);
    } finally {
      this.comparing = false;
    }
  }

  closeComparison(): void {
    this.comparison = null;
  }

  // Evaluate view

  private clearEvaluation(): void {
    this.evalRunId = null;
    this.evaluations = [];
    this.evaluation = null;
    this.gallery = null;
  }

  get evalRun(): RunSummary | null {
    return this.runs.find((run) => run.id === this.evalRunId) ?? null;
  }

  /** Picks the run to evaluate and shows its newest evaluation, if it has one. */
  async selectEvalRun(runId: number | null): Promise<void> {
    if (runId === null) {
      this.clearEvaluation();
      return;
    }
    this.evalRunId = runId;
    this.evaluation = null;
    this.gallery = null;
    this.focused = 0;
    try {
      if (!this.loaded) await this.refresh();
      const { evaluations } = await transport.invoke('runs.evaluations', { runId });
      if (this.evalRunId !== runId) return;
      this.evaluations = evaluations;
      const latest = evaluations.find((e) => e.source === 'test-split') ?? evaluations[0];
      if (latest) await this.openEvaluation(latest.id);
    } catch (error) {
      appStore.report(error);
    }
  }

  /**
   * Classes of the evaluated run's dataset (relabelling needs their ids), from the dataset list the dataset store
   * keeps fresh; none when the dataset is gone (the evaluation still shows, only relabelling is unavailable).
   */
  get datasetClasses(): ClassInfo[] {
    const datasetId = this.evalRun?.datasetId ?? null;
    return datasetStore.datasets.find((dataset) => dataset.id === datasetId)?.classes ?? [];
  }

  /** Datasets to evaluate on (the dataset store's list). */
  get datasets(): DatasetSummary[] {
    return datasetStore.datasets;
  }

  async openEvaluation(evaluationId: number): Promise<void> {
    try {
      this.evaluation = await transport.invoke('runs.evaluation', { evaluationId });
      this.folderMistakes = [];
      await this.loadGallery();
    } catch (error) {
      appStore.report(error);
    }
  }

  setEvalSource(source: EvaluationSourceChoice): void {
    this.evalSource = source;
  }

  get canEvaluate(): boolean {
    if (this.evalRunId === null || this.evaluating) return false;
    if (this.evalSource === 'dataset') return this.evalDatasetId !== null;
    if (this.evalSource === 'folder') return this.evalFolder.trim().length > 0;
    return true;
  }

  async evaluate(): Promise<void> {
    const runId = this.evalRunId;
    if (runId === null || !this.canEvaluate) return;
    this.evaluating = true;
    const target =
      this.evalSource === 'dataset' && this.evalDatasetId !== null ? { datasetId: this.evalDatasetId }
        : this.evalSource === 'folder' ? { folder: this.evalFolder.trim() } : {};
    try {
      const { predictions, ...evaluation } = await transport.invoke('runs.evaluate', { runId, ...target });
      if (this.evalRunId !== runId) return;
      this.evaluation = evaluation;
      this.folderMistakes = evaluation.source === 'folder' ? predictions.filter((p) => !p.correct).sort((a, b) => b.loss - a.loss) : [];
      this.evaluations = (await transport.invoke('runs.evaluations', { runId })).evaluations;
      await this.loadGallery();
      void this.refresh();
    } catch (error) {
      appStore.report(error);
    } finally {
      this.evaluating = false;
    }
  }

  async setGalleryFilter(filter: MisclassifiedFilter): Promise<void> {
    this.galleryFilter = filter;
    await this.loadGallery();
  }

  async setThreshold(threshold: number): Promise<void> {
    this.threshold = threshold;
    if (this.galleryFilter === 'low-confidence-correct') await this.loadGallery();
  }

  async loadGallery(): Promise<void> {
    const evaluation = this.evaluation;
    if (!evaluation || evaluation.source === 'folder') {
      this.gallery = null;
      return;
    }
    try {
      this.gallery = await transport.invoke('runs.misclassified', {
        evaluationId: evaluation.id, filter: this.galleryFilter, threshold: this.threshold, limit: 200,
      });
      this.focused = Math.min(this.focused, Math.max(0, this.gallery.items.length - 1));
    } catch (error) {
      appStore.report(error);
    }
  }

  focus(index: number): void {
    this.focused = index;
  }

  /**
   * Relabels a gallery image through the dataset store (the Label view's path), so the Label grid shows the new
   * label and undo there takes it back.
   */
  async relabel(index: number, classIndex: number): Promise<void> {
    const item = this.gallery?.items[index];
    const className = this.gallery?.classNames[classIndex];
    const datasetId = this.evalRun?.datasetId ?? null;
    if (!item || className === undefined) return;
    const target = this.datasetClasses.find((c) => c.name === className);
    if (datasetId === null || !target) {
      appStore.report(new Error(`Cannot relabel: the run's dataset has no class "${className}" any more.`));
      return;
    }
    // The dataset store reports a failure itself.
    if ((await datasetStore.relabel(datasetId, [item.imageId], target.id)) === null) return;
    if (this.gallery) {
      this.gallery.items[index] = { ...item, currentLabel: className };
      this.focused = Math.min(index + 1, this.gallery.items.length - 1);
    }
  }
}

export const runsStore = new RunsStore();

// Number formatting shared by the Runs, Compare and Evaluate components.
export function formatPercent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;
}

export function formatNumber(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}

// The one durations formatter (lib/words.ts), for the Runs table and the run page as for Compare: no "1 min 60 s".
export { formatDuration } from '../lib/words';

/** A config value for the diff table: strings bare, absent fields marked, the rest as JSON. */
export function formatConfigValue(value: unknown): string {
  if (value === null || value === undefined) return '(absent)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
