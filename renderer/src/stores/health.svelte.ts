import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { datasetStore } from './datasets.svelte';
import { jobsStore } from './jobs.svelte';
import type {
  ExcludedImage, HealthDuplicateGroup, HealthLabelIssue, HealthReport, HealthSuggestion, HealthSuggestions, JobInfo, LabelChange, SuggestionSource,
} from '../../../shared/contract/index';

/** One undoable fix made in the Health view. */
export type HealthFix =
  | { kind: 'label'; datasetId: number; changes: LabelChange[]; text: string }
  | { kind: 'exclude'; datasetId: number; imageIds: number[]; text: string };

const UNDO_LIMIT = 100;

/**
 * The Health view's data (issue 15): the newest health report of the dataset on screen (with its stale flag), the
 * health job that checks it, and the fixes made from the galleries (relabel, exclude) with undo. Labels are written
 * through the dataset store (the only writer of labels); jobs through the jobs store; health.* is asked here only.
 */
class HealthStore {
  // Raw: a report is replaced whole, never edited, and deep proxies over 20,000 map points cost seconds per pass.
  report = $state.raw<HealthReport | null>(null);
  /** The dataset the report (or its absence) belongs to; null before the first load. */
  loadedFor = $state<number | null>(null);
  excluded = $state<ExcludedImage[]>([]);
  busy = $state(false);
  undoStack = $state<HealthFix[]>([]);
  /** Words for the last fix or undo, for the status line. */
  lastFix = $state<string | null>(null);

  /** The Label view's suggested labels for unlabelled images (model-assisted labelling), least certain first. */
  suggestions = $state.raw<(HealthSuggestions & { datasetId: number }) | null>(null);
  /** The source the user chose in the Label view; null = the default (the run's predictions when made, else the embeddings). */
  suggestionSource = $state<SuggestionSource | null>(null);
  /** The predict job making the latest run's suggestions, while it runs. */
  predictJobId = $state<number | null>(null);

  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private suggestionsTimer: ReturnType<typeof setTimeout> | null = null;
  /** Fixes of this store in flight: they read the report and suggestions again when done, so their own datasets.changed is not followed too. */
  private ownChanges = 0;

  constructor() {
    jobsStore.onChange((job, change) => {
      if (job.kind === 'health' && change === 'finished' && job.datasetId === datasetStore.currentId) {
        void this.load();
        void this.loadSuggestions();
      }
      // A finished run is a new source of suggestions for its dataset.
      if (job.kind === 'train' && change === 'finished' && job.datasetId !== null && job.datasetId === this.suggestions?.datasetId) void this.loadSuggestions();
      if (job.kind === 'predict' && change === 'finished' && job.id === this.predictJobId) {
        this.predictJobId = null;
        if (job.status === 'failed') appStore.report(new Error(`Predicting the unlabelled images failed: ${job.error ?? 'unknown error'}`));
        void this.loadSuggestions();
      }
    });
    // A relabel or exclusion anywhere (Label view, CLI) can make the report stale: read it again.
    transport.subscribe('datasets.changed', ({ datasetId }) => {
      if (this.ownChanges > 0) return;
      // A label set anywhere changes which images are unlabelled.
      if (datasetId === this.suggestions?.datasetId) {
        if (this.suggestionsTimer) clearTimeout(this.suggestionsTimer);
        this.suggestionsTimer = setTimeout(() => void this.loadSuggestions(), 150);
      }
      if (datasetId !== this.loadedFor) return;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.load(), 150);
    });
  }

  get datasetId(): number | null {
    return datasetStore.currentId;
  }

  /** The health job of the dataset on screen while it is queued or running. */
  get job(): JobInfo | undefined {
    return jobsStore.byKind('health').find((job) => job.datasetId === this.datasetId && (job.status === 'queued' || job.status === 'running'));
  }

  /** The newest health job of the dataset when it failed (its error is shown until the next run). */
  get failedJob(): JobInfo | undefined {
    const newest = jobsStore.byKind('health').filter((job) => job.datasetId === this.datasetId).sort((a, b) => b.id - a.id)[0];
    return newest?.status === 'failed' ? newest : undefined;
  }

  /** Suspected mislabels whose label no longer is the one the report was computed with (fixed since). */
  get fixedIssues(): number {
    return this.report?.labelIssues.filter((issue) => issue.image.label !== issue.given).length ?? 0;
  }

  async load(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) {
      this.report = null;
      this.excluded = [];
      this.loadedFor = null;
      return;
    }
    try {
      const [{ report }, { images }] = await Promise.all([
        transport.invoke('health.latest', { datasetId }),
        transport.invoke('health.excluded', { datasetId }),
      ]);
      if (datasetId !== this.datasetId) return; // the user moved on while it loaded
      if (this.loadedFor !== datasetId) this.undoStack = [];
      this.report = report;
      this.excluded = images;
      this.loadedFor = datasetId;
    } catch (error) {
      appStore.report(error);
    }
  }

  async loadSuggestions(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) {
      this.suggestions = null;
      return;
    }
    if (this.suggestionsTimer) clearTimeout(this.suggestionsTimer);
    // A source chosen for another dataset does not carry over.
    if (this.suggestions && this.suggestions.datasetId !== datasetId) this.suggestionSource = null;
    try {
      const source = this.suggestionSource;
      const answer = await transport.invoke('health.suggestions', { datasetId, ...(source ? { source } : {}) });
      if (datasetId === this.datasetId) this.suggestions = { ...answer, datasetId };
    } catch (error) {
      appStore.report(error);
    }
  }

  /** Shows the suggestions of another source (Label view). */
  async chooseSuggestionSource(source: SuggestionSource): Promise<void> {
    this.suggestionSource = source;
    await this.loadSuggestions();
  }

  /** Has the latest finished run predict the unlabelled images; its suggestions are shown when the job ends. */
  async predictUnlabelled(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || this.predictJobId !== null) return;
    try {
      const { jobId } = await transport.invoke('health.predictUnlabelled', { datasetId });
      this.suggestionSource = 'run';
      // A job that ended before this answer arrived is not followed: read its suggestions now.
      const known = jobsStore.get(jobId);
      if (known && known.status !== 'queued' && known.status !== 'running') await this.loadSuggestions();
      else this.predictJobId = jobId;
    } catch (error) {
      appStore.report(error);
    }
  }

  /**
   * Accepts a suggested label for an unlabelled image (Label view, Enter): labelled through the dataset store, so
   * Ctrl+Z there undoes it; then the suggestions (and the report, when one is shown) are read once.
   */
  async acceptLabelSuggestion(suggestion: HealthSuggestion): Promise<boolean> {
    const datasetId = this.datasetId;
    if (datasetId === null) return false;
    const classId = this.classIdOf(suggestion.suggested);
    if (classId === undefined) {
      appStore.report(new Error(`Class "${suggestion.suggested}" no longer exists in this dataset; run the health check again.`));
      return false;
    }
    this.ownChanges++;
    let changes: LabelChange[] | null;
    try {
      changes = await datasetStore.relabel(datasetId, [suggestion.image.imageId], classId);
    } finally {
      this.ownChanges--;
    }
    await this.refreshAfterOwnChange(datasetId, this.loadedFor === datasetId);
    return changes !== null;
  }

  async run(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) return;
    await jobsStore.start({ kind: 'health', input: { datasetId } });
  }

  async cancel(): Promise<void> {
    const job = this.job;
    if (job) await jobsStore.cancel(job.id);
  }

  classIdOf(name: string): number | undefined {
    return datasetStore.classes.find((cls) => cls.name === name)?.id;
  }

  /** Labels images (null = unlabel) as a person's decision; undoable here. */
  async setLabel(imageIds: number[], classId: number | null, text: string): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const changes = await datasetStore.relabel(datasetId, imageIds, classId);
      if (changes && changes.length > 0) this.remember({ kind: 'label', datasetId, changes, text });
    });
  }

  /** The one-key fix of a suspected mislabel: its label becomes the suggested class. */
  async acceptSuggestion(issue: HealthLabelIssue): Promise<void> {
    const classId = this.classIdOf(issue.suggested);
    if (classId === undefined) {
      appStore.report(new Error(`Class "${issue.suggested}" no longer exists in this dataset; run the health check again.`));
      return;
    }
    await this.setLabel([issue.image.imageId], classId, `${issue.image.relPath}: ${issue.image.label ?? 'unlabelled'} → ${issue.suggested}`);
  }

  /** Drops images from the dataset (files untouched); undoable here, and listed under Excluded. */
  async exclude(imageIds: number[], reason: string): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const { excluded } = await transport.invoke('health.exclude', { datasetId, imageIds, reason });
      if (excluded > 0) this.remember({ kind: 'exclude', datasetId, imageIds, text: `excluded ${excluded} image${excluded === 1 ? '' : 's'} (${reason})` });
    });
  }

  /** Keeps one image of a near-duplicate group and drops the others from the dataset. */
  async keepOnly(group: HealthDuplicateGroup, keepImageId: number): Promise<void> {
    const keep = group.images.find((image) => image.imageId === keepImageId);
    if (!keep) return;
    await this.exclude(group.images.filter((image) => image.imageId !== keepImageId).map((image) => image.imageId), `near-duplicate of ${keep.relPath}`);
  }

  async include(imageIds: number[]): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const { included } = await transport.invoke('health.include', { datasetId, imageIds });
      this.lastFix = `included ${included} image${included === 1 ? '' : 's'} again`;
    });
  }

  async undo(): Promise<void> {
    const fix = this.undoStack.at(-1);
    if (!fix) return;
    await this.step(async () => {
      if (fix.kind === 'exclude') {
        await transport.invoke('health.include', { datasetId: fix.datasetId, imageIds: fix.imageIds });
      } else {
        // Each image gets back its own earlier label: one request per earlier class.
        const befores = [...new Set(fix.changes.map((change) => change.before))];
        for (const before of befores) {
          const imageIds = fix.changes.filter((change) => change.before === before).map((change) => change.imageId);
          if ((await datasetStore.relabel(fix.datasetId, imageIds, before)) === null) return;
        }
      }
      this.undoStack = this.undoStack.slice(0, -1);
      this.lastFix = `undone: ${fix.text}`;
    });
  }

  private remember(fix: HealthFix): void {
    this.undoStack = [...this.undoStack.slice(-(UNDO_LIMIT - 1)), fix];
    this.lastFix = fix.text;
  }

  /**
   * One fix at a time, then the report read again, once (current labels, excluded images gone, stale flag): the
   * datasets.changed the fix itself causes is not followed as well.
   */
  private async step(action: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    const datasetId = this.datasetId;
    this.busy = true;
    this.ownChanges++;
    try {
      await action();
    } catch (error) {
      appStore.report(error);
    } finally {
      this.ownChanges--;
      this.busy = false;
    }
    if (datasetId !== null) await this.refreshAfterOwnChange(datasetId, true);
  }

  /** After this store's own change: the report (when asked) and the suggestions (when shown) are read once each. */
  private async refreshAfterOwnChange(datasetId: number, report: boolean): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    if (this.suggestionsTimer) clearTimeout(this.suggestionsTimer);
    await Promise.all([
      report ? this.load() : undefined,
      this.suggestions?.datasetId === datasetId ? this.loadSuggestions() : undefined,
    ]);
  }
}

export const healthStore = new HealthStore();
